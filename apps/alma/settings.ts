/**
 * The `alma` block of the stack's config: its schema, the one place each of the app's
 * settings is declared, and the type the app's component takes.
 */
import { z } from "zod";
import { type AppRules, originalValue } from "../../config-problems";
import type { Improvement } from "../../components/adoption";
import { SQS_MAXIMUM_CONCURRENCY_LIMITS } from "../../components/lambda/runtime";
import { ALMA_EVENTS, DEFAULT_WEBHOOK_SECRET_ROTATION_WINDOW_HOURS } from "../../handlers/lib/env-names";
import { awsRegion, functionSettings, hardening, queueUrl, snsTopicArn, tableName } from "../settings-schema";

/** The improvements the app offers (see components/adoption.ts), in the order docs/cutover.md lists them. */
export const ALMA_IMPROVEMENTS = [
  "encryption",
  "pointInTimeRecovery",
  "deletionProtection",
  "onDemandCapacity",
  "queueSettings",
  "tlsOnly",
] as const satisfies readonly Improvement[];

/** Concurrent invocations of each cache function when `maximumConcurrency` is not given. */
export const DEFAULT_MAXIMUM_CONCURRENCY = 5;

export const almaSchema = z.strictObject({
  /** Existing topic ARN per Alma event, adopted; every event not named here gets a topic created by this stack. */
  topicArns: z.partialRecord(z.enum(ALMA_EVENTS), snsTopicArn).default({}),
  /** Existing cache tables, adopted; every table not named here is created by this stack. */
  tableNames: z.partialRecord(z.enum(["users", "loans", "requests"]), tableName).default({}),
  /** The existing users queue (that the bulk-update service reads), adopted. */
  usersQueueUrl: queueUrl.optional(),
  /** The existing users queue's dead-letter queue, adopted. */
  usersDeadLetterQueueUrl: queueUrl.optional(),
  /**
   * Timeout of the users-queue consumer (the bulk-update service): the queue's visibility
   * timeout is 6 times it. On an adopted queue, only once the `queueSettings` improvement applies.
   */
  usersQueueConsumerTimeoutSeconds: z.number().int().min(1).max(900).optional(),
  function: functionSettings({ memoryMb: 256, timeoutSeconds: 30 }),
  /**
   * The cutover switch: while true, the four cache functions do not read their queues, and
   * every event waits there (up to 14 days) until it is set back to false. See docs/cutover.md.
   */
  paused: z.boolean().default(false),
  /** Concurrent invocations of each cache function at most, reading its queue (SQS allows 2 to 1000). */
  maximumConcurrency: z
    .number()
    .int()
    .min(SQS_MAXIMUM_CONCURRENCY_LIMITS.min)
    .max(SQS_MAXIMUM_CONCURRENCY_LIMITS.max)
    .default(DEFAULT_MAXIMUM_CONCURRENCY),
  /**
   * Hours after a rotation of `almaWebhookSecret` during which the webhook still accepts
   * deliveries signed with the previous secret, so that Alma can be switched over within them
   * (0: only the current secret). See docs/deploy.md, "Rotating secrets".
   */
  webhookSecretRotationWindowHours: z.number().int().min(0).max(720).default(DEFAULT_WEBHOOK_SECRET_ROTATION_WINDOW_HOURS),
  region: awsRegion,
  hardening: hardening(ALMA_IMPROVEMENTS),
});

export type AlmaSettings = z.infer<typeof almaSchema>;

export const almaRules: AppRules<AlmaSettings> = {
  adopts: (alma) =>
    Object.keys(alma.topicArns).length > 0 ||
    Object.keys(alma.tableNames).length > 0 ||
    !!alma.usersQueueUrl ||
    !!alma.usersDeadLetterQueueUrl,
  conflicts: (alma, given) =>
    alma.usersQueueUrl && given.usersQueueConsumerTimeoutSeconds !== undefined && !alma.hardening.queueSettings
      ? [
          {
            key: "alma.usersQueueConsumerTimeoutSeconds",
            message: `would set the adopted users queue's visibility timeout to ${6 * given.usersQueueConsumerTimeoutSeconds} s; the original's is ${originalValue("alma", "aws:sqs/queue:Queue", "alma-users", "visibilityTimeoutSeconds")}`,
            optIn: "alma.hardening.queueSettings",
          },
        ]
      : [],
};
