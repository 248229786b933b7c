import {
  execute,
  getNamedType,
  GraphQLSchema,
  isLeafType,
  isNonNullType,
  isObjectType,
  parse,
  type GraphQLObjectType,
} from 'graphql';
import type { JobView } from '../resolvers/jobView.js';
import type { Context } from './context.js';
import { schema } from './index.js';

/** Fields left out of a webhook body: the deliveries list describes the webhook itself and changes between attempts. */
const LEFT_OUT = new Set(['webhookDeliveries']);

/** Every field of a type that needs no arguments, objects expanded (at most `depth` levels). */
function selectionOf(type: GraphQLObjectType, depth: number): string {
  const parts: string[] = [];
  for (const field of Object.values(type.getFields())) {
    if (LEFT_OUT.has(field.name)) continue;
    if (field.args.some((a) => isNonNullType(a.type) && a.defaultValue === undefined)) continue;
    const named = getNamedType(field.type);
    if (isLeafType(named)) parts.push(field.name);
    else if (isObjectType(named) && depth > 0) parts.push(`${field.name} { ${selectionOf(named, depth - 1)} }`);
  }
  return parts.join(' ');
}

/**
 * Renders a job exactly as the GraphQL API returns it — every field of the
 * `Job` type, through the schema's own resolvers (so assets carry freshly
 * signed URLs, and fields added to `Job` later appear by themselves) — for
 * webhook bodies. It executes one document against a schema whose root is
 * `Job`, with the job as the root value and a context that acts as its owner.
 */
export function createJobRenderer(contextFor: (job: JobView) => Context): (job: JobView) => Promise<unknown> {
  const jobType = schema.getType('Job') as GraphQLObjectType;
  const jobSchema = new GraphQLSchema({ query: jobType });
  const document = parse(`{ ${selectionOf(jobType, 3)} }`);
  return async (job) => {
    const result = await execute({ schema: jobSchema, document, rootValue: job, contextValue: contextFor(job) });
    if (result.errors?.length) throw new Error(`rendering job ${job.id} failed: ${result.errors[0].message}`);
    return result.data;
  };
}
