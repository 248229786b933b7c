import type { YogaLogger } from 'graphql-yoga';
import type { Logger } from 'pino';

/** yoga's own log lines, through the app's pino logger. */
export function yogaLogging(logger: Logger): YogaLogger {
  return {
    debug: (...a) => logger.debug(a.map(String).join(' ')),
    info: (...a) => logger.info(a.map(String).join(' ')),
    warn: (...a) => logger.warn(a.map(String).join(' ')),
    error: (...a) => logger.error(a.map(String).join(' ')),
  };
}
