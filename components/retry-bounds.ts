/**
 * How often and for how long a failed delivery is retried, and the bounds AWS allows.
 * Dependency-free: the functions (components/lambda), the event sources (components/events)
 * and the config schema read them from here.
 */

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
