/**
 * Names of the environment variables that components set and handlers read. This module is
 * the only thing the infrastructure (components/) and the runtime (handlers/) share, so a
 * renamed variable breaks the type check instead of a deployed function.
 */
export const COMMON_ENV = {
  /** Service name in every structured log line (Powertools Logger). */
  serviceName: "POWERTOOLS_SERVICE_NAME",
  /** Minimum log level (Powertools Logger). */
  logLevel: "POWERTOOLS_LOG_LEVEL",
  /** Stage the function runs in: dev, staging or prod. */
  stage: "TRIBUTARY_STAGE",
} as const;
