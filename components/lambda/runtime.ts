/**
 * Facts about the Lambda runtime every function of the program targets, and the retry
 * bounds AWS allows. Dependency-free: the bundler, the components, the config schema and the
 * policy pack read them from here.
 */

/** The Node.js major of the functions: nodejs22.x, esbuild's target, the image's base. */
export const NODE_MAJOR = 22;
export const LAMBDA_RUNTIME = `nodejs${NODE_MAJOR}.x`;
export const LAMBDA_ARCHITECTURE = "arm64";

/** How often and for how long a failed delivery is retried before its dead-letter queue keeps it. */
export interface RetryBounds {
  /** Retries after the first attempt. */
  maximumRetryAttempts: number;
  /** Oldest event still tried, in seconds. */
  maximumEventAgeSeconds: number;
}

/** Retry bounds as EventBridge and Scheduler targets name them. */
export function targetRetryPolicy(bounds: RetryBounds): { maximumRetryAttempts: number; maximumEventAgeInSeconds: number } {
  return { maximumRetryAttempts: bounds.maximumRetryAttempts, maximumEventAgeInSeconds: bounds.maximumEventAgeSeconds };
}

/** The most Lambda allows for its own retries of an asynchronous invocation (SNS, S3, EventBridge). */
export const LAMBDA_ASYNC_RETRY_LIMITS: RetryBounds = { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21600 };
/** The most an EventBridge rule target or a Scheduler target allows. */
export const TARGET_RETRY_LIMITS: RetryBounds = { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 };
/** The youngest maximum event age either allows. */
export const MINIMUM_EVENT_AGE_SECONDS = 60;

/** The bounds of an SQS event source mapping's `scalingConfig.maximumConcurrency`. */
export const SQS_MAXIMUM_CONCURRENCY_LIMITS = { min: 2, max: 1000 };
