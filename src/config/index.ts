/** The configuration's public API: the variables table, the Config it loads into, and the checks commands call. */
export { MIN_WEBHOOK_SECRET_LENGTH, requireWebhookSecurity } from "./checks.js";
export { ConfigError } from "./error.js";
export { DEFAULT_HTTP_LIMITS, type HttpLimits } from "./http-limits.js";
export { type Config, loadConfig } from "./load.js";
export { parseS3Url, type S3Location, type StateLocation } from "./locations.js";
export {
  CONFIG_GROUPS,
  CONFIG_VARIABLES,
  type ConfigVariable,
  type ConfigVariableName,
  REGION_BASE_URLS,
} from "./variables.js";
