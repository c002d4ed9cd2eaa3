/**
 * Logging for tandem: LogTape set up once per process to stderr in `text` or `json` format
 * (`setupLogging`), one logger per area (`logger("ha")`), and a pure per-reason rate limiter for
 * warnings about line-rate events (`RateLimitedWarning`).
 * @module
 */

export {
  formatterFor,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  logger,
  type LoggingOptions,
  type LogLevel,
  ROOT_CATEGORY,
  setupLogging,
} from "./log.ts";
export { RateLimitedWarning, type RateLimitOptions } from "./rate_limit.ts";
