import { z } from 'zod';

/**
 * The one place that reads configuration. Every variable is documented in
 * docs/http-api.md and the README's configuration table.
 */
const bool = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const intFrom = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def);

const EnvSchema = z.object({
  PORT: intFrom(4000, 0, 65535),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: optionalString,
  DATA_DIR: z.string().default('./data'),
  JWT_SECRET: optionalString,
  JWT_JWKS_URL: optionalString.pipe(z.url().optional()),
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
  DATABASE_URL: optionalString,
  REDIS_URL: optionalString,
  REDIS_KEY_PREFIX: z.string().default(''),
  S3_ENDPOINT: optionalString,
  S3_REGION: z.string().default('us-east-1'),
  S3_BUCKET: optionalString,
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_FORCE_PATH_STYLE: bool,
  SIGNED_URL_TTL: intFrom(3600, 1, 7 * 24 * 3600),
  STARTING_CREDITS: intFrom(100, 0, 1_000_000_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Seconds past a job's expected generation time before an unfinished job is failed and refunded. */
  JOB_TIMEOUT_GRACE: intFrom(600, 1, 7 * 24 * 3600),
  /** Milliseconds between runs of the dispatcher and the stuck-job sweeper. */
  SWEEP_INTERVAL_MS: intFrom(5000, 50, 3_600_000),
  MAX_UPLOAD_BYTES: intFrom(512 * 1024 * 1024, 1, 8 * 1024 * 1024 * 1024),
  /** Hand-outs of a job to a worker before it fails for good. */
  MAX_ATTEMPTS: intFrom(2, 1, 100),
  /** A `failed` callback whose message matches (case-insensitive) is retried while attempts remain. */
  TRANSIENT_ERROR_PATTERN: z
    .string()
    .default('CUDA|out of memory|\\bOOM\\b|timed out|timeout|connection (reset|refused)|ECONNRESET|ECONNREFUSED')
    .refine((v) => {
      try {
        new RegExp(v, 'i');
        return true;
      } catch {
        return false;
      }
    }, 'not a valid regular expression'),
  /** Jobs kept in each Redis list for workers that RPOP Redis directly (0: none; they must use /rpop). */
  QUEUE_WINDOW_SIZE: intFrom(4, 0, 1000),
  /** Allow webhook URLs on loopback/private addresses, and plain http (development and tests only). */
  WEBHOOK_ALLOW_PRIVATE: bool,
  /** First retry delay of a failed webhook delivery, in seconds (fractions allowed); each later one doubles. */
  WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().min(0.01).max(86_400).default(10),
  /** Seconds a webhook receiver has to answer. */
  WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(60).default(10),
  /** Key of the optional `X-Callback-Signature` HMAC on job callbacks; unset → the header is ignored. */
  CALLBACK_HMAC_SECRET: optionalString,
  /** Accept reference URLs resolving to loopback, private or link-local addresses (development and tests only). */
  REFERENCE_ALLOW_PRIVATE: bool,
  /** Bearer token `/metrics` requires; unset leaves it open. */
  METRICS_TOKEN: optionalString,
  /** Seconds a SIGTERM waits for requests in flight before cutting what is left. */
  SHUTDOWN_TIMEOUT: intFrom(25, 0, 3600),
  NODE_ENV: z.string().default('development'),
  /** With NODE_ENV=production, introspection and field suggestions are off unless this is true. */
  GRAPHQL_INTROSPECTION: bool,
  /** Cost budget of one GraphQL operation (see the README's "Limits"). */
  GRAPHQL_MAX_COST: intFrom(5000, 1, 10_000_000),
  /** Operations per minute per user (per IP without a token), GraphQL and REST. */
  RATE_LIMIT_PER_MINUTE: intFrom(120, 1, 1_000_000),
  /** Queued + running jobs one user may have at once. */
  MAX_ACTIVE_JOBS_PER_USER: intFrom(8, 1, 1_000_000),
  /** Comma-separated origins allowed to call the API from a browser; unset: any origin, without credentials. */
  CORS_ORIGINS: optionalString,
});

export type Config = {
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  jwt: { secret?: string; jwksUrl?: string; issuer?: string; audience?: string };
  databaseUrl?: string;
  redis?: { url: string; keyPrefix: string };
  s3?: {
    endpoint?: string;
    region: string;
    bucket: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    forcePathStyle: boolean;
  };
  signedUrlTtl: number;
  startingCredits: number;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  jobTimeoutGrace: number;
  sweepIntervalMs: number;
  maxUploadBytes: number;
  maxAttempts: number;
  transientErrorPattern: RegExp;
  queueWindowSize: number;
  webhooks: { allowPrivate: boolean; retryBaseSeconds: number; timeoutMs: number };
  /** When set, a job callback that carries `X-Callback-Signature` must carry the right one. */
  callbackHmacSecret?: string;
  referenceAllowPrivate: boolean;
  metricsToken?: string;
  shutdownTimeoutMs: number;
  /** NODE_ENV=production. */
  production: boolean;
  graphql: { introspection: boolean; maxCost: number };
  rateLimitPerMinute: number;
  maxActiveJobsPerUser: number;
  /** null: any origin, without credentials. */
  corsOrigins: string[] | null;
  /** True when nothing external is configured: PGlite, local disk, in-process queue. */
  embedded: boolean;
};

/** `https://a.example, https://b.example` → their origins; a value that is not an origin stops the server. */
function corsOrigins(value: string | undefined): string[] | null {
  if (value === undefined) return null;
  return value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => {
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        throw new ConfigError(`CORS_ORIGINS: "${v}" is not an origin; list origins such as https://app.example.com, separated by commas.`);
      }
      if (url.origin !== v.replace(/\/+$/, '')) {
        throw new ConfigError(`CORS_ORIGINS: "${v}" is not an origin (scheme, host and port only); use ${url.origin}.`);
      }
      return url.origin;
    });
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; throws a ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration — fix these environment variables: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const embedded = !e.DATABASE_URL && !e.REDIS_URL && !e.S3_BUCKET;
  if (!embedded && !e.JWT_SECRET && !e.JWT_JWKS_URL) {
    throw new ConfigError(
      'JWT_SECRET is required when DATABASE_URL, REDIS_URL or S3_BUCKET is set: set JWT_SECRET (or JWT_JWKS_URL).',
    );
  }
  if (e.S3_BUCKET === undefined && (e.S3_ENDPOINT || e.S3_ACCESS_KEY_ID)) {
    throw new ConfigError('S3_ENDPOINT or S3_ACCESS_KEY_ID is set but S3_BUCKET is not: set S3_BUCKET to use S3.');
  }
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    dataDir: e.DATA_DIR,
    jwt: { secret: e.JWT_SECRET, jwksUrl: e.JWT_JWKS_URL, issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE },
    databaseUrl: e.DATABASE_URL,
    redis: e.REDIS_URL ? { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX } : undefined,
    s3: e.S3_BUCKET
      ? {
          endpoint: e.S3_ENDPOINT,
          region: e.S3_REGION,
          bucket: e.S3_BUCKET,
          accessKeyId: e.S3_ACCESS_KEY_ID,
          secretAccessKey: e.S3_SECRET_ACCESS_KEY,
          forcePathStyle: e.S3_FORCE_PATH_STYLE,
        }
      : undefined,
    signedUrlTtl: e.SIGNED_URL_TTL,
    startingCredits: e.STARTING_CREDITS,
    logLevel: e.LOG_LEVEL,
    jobTimeoutGrace: e.JOB_TIMEOUT_GRACE,
    sweepIntervalMs: e.SWEEP_INTERVAL_MS,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    maxAttempts: e.MAX_ATTEMPTS,
    transientErrorPattern: new RegExp(e.TRANSIENT_ERROR_PATTERN, 'i'),
    queueWindowSize: e.QUEUE_WINDOW_SIZE,
    webhooks: {
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
      retryBaseSeconds: e.WEBHOOK_RETRY_BASE_SECONDS,
      timeoutMs: Math.round(e.WEBHOOK_TIMEOUT_SECONDS * 1000),
    },
    callbackHmacSecret: e.CALLBACK_HMAC_SECRET,
    referenceAllowPrivate: e.REFERENCE_ALLOW_PRIVATE,
    metricsToken: e.METRICS_TOKEN,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT * 1000,
    production: e.NODE_ENV === 'production',
    graphql: { introspection: e.NODE_ENV !== 'production' || e.GRAPHQL_INTROSPECTION, maxCost: e.GRAPHQL_MAX_COST },
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    maxActiveJobsPerUser: e.MAX_ACTIVE_JOBS_PER_USER,
    corsOrigins: corsOrigins(e.CORS_ORIGINS),
    embedded,
  };
}
