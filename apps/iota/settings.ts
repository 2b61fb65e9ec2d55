/**
 * The `iota` block of the stack's config: its schema, the one place each of the app's
 * settings is declared, and the type the app's component takes.
 */
import { z } from "zod";
import type { AppRules } from "../../config-problems";
import type { Improvement } from "../../components/adoption";
import { TARGET_RETRY_LIMITS } from "../../components/retry-bounds";
import { DEAD_LETTER_RETENTION_SECONDS } from "../../components/events/dead-letter-facts";
import { asyncRetry, awsRegion, eventBusName, eventType, functionSettings, hardening, nonEmpty } from "../settings-schema";

/** The improvements the app offers (see components/adoption.ts), in the order docs/cutover.md lists them. */
export const IOTA_IMPROVEMENTS = ["tlsOnly"] as const satisfies readonly Improvement[];

/** The longest an iota event can come back: its dead-letter queue's retention after EventBridge's longest retries, in whole days (15). */
export const MIN_JOURNAL_RETENTION_DAYS = Math.ceil((DEAD_LETTER_RETENTION_SECONDS + TARGET_RETRY_LIMITS.maximumEventAgeSeconds) / 86_400);

export const iotaSchema = z.strictObject({
  /** Existing EventBridge bus to listen on and emit to, adopted; when absent, the program creates one. */
  eventBusName: eventBusName.optional(),
  /** MongoDB database that holds the journal and the records. */
  mongoDatabase: nonEmpty,
  /**
   * Days a committed journal entry is kept, once its events are sent, before MongoDB's TTL
   * index removes it. An event can come back until its dead-letter queue drops it, after
   * EventBridge's retries: a shorter retention would let a redriven duplicate apply twice.
   */
  journalRetentionDays: z
    .number()
    .int()
    .min(
      MIN_JOURNAL_RETENTION_DAYS,
      `must be at least ${MIN_JOURNAL_RETENTION_DAYS}: the dead-letter queue keeps an event 14 days, after up to 24 h of EventBridge's retries`,
    )
    .max(3650)
    .default(MIN_JOURNAL_RETENTION_DAYS),
  services: z
    .array(
      z.strictObject({
        /** Service id: the `source` of the events it emits and part of the journal key. */
        id: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, "must be lower-case letters, digits, dots and dashes"),
        /** The service's function, `handlers/iota/functions/<handler>.ts`. */
        handler: z.string().regex(/^[a-z0-9-]+$/, "must be a function name (handlers/iota/functions/<name>.ts)"),
        /** CloudEvent types the service consumes. */
        consumes: z.array(eventType).min(1),
        function: functionSettings({ memoryMb: 256, timeoutSeconds: 30 }),
        delivery: asyncRetry(TARGET_RETRY_LIMITS, TARGET_RETRY_LIMITS),
      }),
    )
    .min(1),
  region: awsRegion,
  hardening: hardening(IOTA_IMPROVEMENTS),
});

export type IotaSettings = z.infer<typeof iotaSchema>;
/** One of the app's services. */
export type IotaServiceSettings = IotaSettings["services"][number];

export const iotaRules: AppRules<IotaSettings> = {
  adopts: (iota) => !!iota.eventBusName,
};
