/**
 * The config file (DESIGN.md "Config file"): YAML checked by a zod schema, overridden by flags,
 * cross-checked and resolved into numbers (`loadConfig`, `parseConfig`), the digest the two units
 * compare (`configDigest`), and the lab's per-unit config (`labConfigText`). Every problem is a
 * one-line `ConfigError` naming the field.
 * @module
 */

export {
  type ApiConfig,
  type BackendConfig,
  type Config,
  ConfigError,
  deriveMac,
  fieldPath,
  type FloatingConfig,
  type InterfaceConfig,
  loadConfig,
  MIN_KEY_BYTES,
  type Overrides,
  parseConfig,
  type PeerConfig,
  type ReadFile,
  type ServiceConfig,
  type TimeoutsMs,
} from "./load.ts";
export {
  type Cidr,
  configSchema,
  DEFAULT_API,
  DEFAULT_TIMEOUTS_MS,
  type Endpoint,
  INTERFACE_NAME,
  MODES,
  parseCidr,
  parseDuration,
  parseEndpoint,
  type Protocol,
  PROTOCOLS,
  ROLES,
  type Scheduler,
  SCHEDULERS,
} from "./schema.ts";
export { canonicalConfig, configDigest } from "./digest.ts";
export { type LabConfigOptions, labConfigText } from "./lab_config.ts";
