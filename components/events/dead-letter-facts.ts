/**
 * What makes a queue a dead-letter queue of this program. Dependency-free: DeadLetterQueue
 * applies these facts, and the policy pack and the config schema read them from here.
 */

/**
 * The tag DeadLetterQueue puts on a queue it creates: it marks the queue as a dead-letter
 * queue for the policy pack, which cannot always resolve ARNs in a preview.
 */
export const DEAD_LETTER_TAG = "tributary:dead-letter-queue";

/** 14 days, the longest SQS keeps a message: time enough to notice, fix and redrive. */
export const DEAD_LETTER_RETENTION_SECONDS = 1_209_600;
