/**
 * The worker queues: lists with LPUSH-in / RPOP-out (FIFO) semantics, as the
 * GPU fleet expects from Upstash/Redis. Payloads are opaque strings.
 */
export interface WorkerQueue {
  readonly kind: 'memory' | 'redis';
  /** LPUSH; resolves to the list's new length. */
  push(queue: string, payload: string): Promise<number>;
  /** RPUSH: back at the popping end, as if never popped (clears its removal mark). */
  pushBack(queue: string, payload: string): Promise<number>;
  /**
   * The whole list, oldest (next popped) last, with the epoch, read
   * atomically: a list that looks empty because the backend restarted empty
   * comes with a new epoch.
   */
  snapshot(queue: string): Promise<{ items: string[]; epoch: string }>;
  /**
   * Atomically: LREM each of `remove`, then LPUSH each of `push` in order
   * (the first is popped first), except those of `push` that were in
   * `remove` and already gone (a popper took them: never push them back).
   * Resolves to how many copies of each of `remove` were removed, or -1 for
   * one that was not there because we removed it earlier (its removal mark).
   *
   * Removal marks (Redis): an entry of ours (a JSON payload with an `id`)
   * that this queue removes — `remove`, or `replace` without pushing it
   * again — is marked as removed by us, in the same atomic step; pushing it
   * again clears the mark. So a missing entry tells who took it: with a mark
   * we did (nobody runs it), without one a worker popping the list did.
   */
  replace(queue: string, remove: string[], push: string[]): Promise<number[]>;
  /** For each entry, whether it is gone because we removed it (its removal mark); always false in memory. */
  removedByUs(queue: string, payloads: string[]): Promise<boolean[]>;
  /** RPOP; null when empty. */
  pop(queue: string): Promise<string | null>;
  /** LLEN. */
  length(queue: string): Promise<number>;
  /**
   * LREM count 0: removes every element equal to payload (marking it removed
   * by us); resolves to how many were removed, or -1 when none was there
   * because we removed it earlier.
   */
  remove(queue: string, payload: string): Promise<number>;
  /**
   * An id that stays the same for as long as the lists keep their contents:
   * it changes when an in-process queue is recreated or a Redis without
   * persistence restarts empty. A job pushed under another epoch may be lost.
   */
  epoch(): Promise<string>;
  /**
   * Notes that `worker` polled `queue` at `at` (ms since the epoch), where
   * every instance sharing this backend sees it: Query.queues counts active
   * workers fleet-wide. Sightings older than `keepMs` may be forgotten.
   */
  sighted(queue: string, worker: string, at: number, keepMs: number): Promise<void>;
  /** Distinct workers seen polling `queue` since `since` (ms since the epoch), by any instance. */
  workersSince(queue: string, since: number): Promise<number>;
  /** Resolves when the backend answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
