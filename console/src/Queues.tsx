import type { ConsoleQueuesQuery } from './gql/graphql.js';
import { seconds } from './format.js';

type QueueInfo = ConsoleQueuesQuery['queues'][number];

export function Queues(props: { queues: QueueInfo[] | null; error: string | null }) {
  if (props.error) return <p class="empty">{props.error}</p>;
  const rows = props.queues ?? [];
  return (
    <table class="queues">
      <caption class="visually-hidden">Waiting, running and expected wait per worker queue</caption>
      <thead>
        <tr>
          <th scope="col">Queue</th>
          <th scope="col">Waiting</th>
          <th scope="col">Running</th>
          <th scope="col">Workers</th>
          <th scope="col">Expected wait</th>
        </tr>
      </thead>
      <tbody>
        {props.queues === null ? (
          <tr>
            <td colSpan={5}>Loading…</td>
          </tr>
        ) : (
          rows.map((q) => (
            <tr key={q.name}>
              <th scope="row">{q.name}</th>
              <td>{q.waiting}</td>
              <td>{q.running}</td>
              <td>{q.activeWorkers}</td>
              <td>{q.estimatedWaitSeconds == null ? 'unknown' : q.estimatedWaitSeconds === 0 ? 'none' : seconds(q.estimatedWaitSeconds)}</td>
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}
