/**
 * The resumable record: what lesson-completed puts in its failed-events queue when it could
 * not send every lesson of an event, and what it takes back as its event (a replay) to send
 * only the lessons the record names. An operator's replay tool sends it back unchanged.
 *
 *   {
 *     "kind": "lessons-resume",
 *     "reason": "2 lesson(s) not sent: lesson b failed after retries: PUT … answered HTTP 503",
 *     "failedAt": "2026-01-01T00:00:00.000Z",
 *     "remaining": ["b", "c"],          // not accepted yet, in order: a replay sends exactly these
 *     "refused": [{ "lessonId": "x", "status": 404 }],   // refused for good: not resent
 *     "event": { …the Atlas trigger event… }
 *   }
 */
import * as z from "zod/mini";
import { type UserUpdateEvent, userUpdateEvent } from "./lesson-sync";

export const RESUME_KIND = "lessons-resume";

/** SQS takes 256 KiB per message, attributes included; kept back for them. */
export const MAX_RECORD_BYTES = 256 * 1024 - 1024;

const lessonIdText = z.string().check(z.minLength(1, "must not be empty"));

export const resumeRecord = z.object({
  kind: z.literal(RESUME_KIND),
  /** Why the lessons were not all sent. */
  reason: z.string(),
  /** When, as an ISO 8601 timestamp. */
  failedAt: z.string(),
  /** Lesson ids not accepted yet, in the order to send them. */
  remaining: z.array(lessonIdText),
  /** Lessons the API refused for good (4xx), kept for a person to look at; a replay does not send them. */
  refused: z.optional(z.array(z.object({ lessonId: lessonIdText, status: z.number() }))),
  /** The Atlas trigger event the lessons came from: the user and e-mail are read from it. */
  event: userUpdateEvent,
  /** Set when the event's `updatedFields` were left out so that the record fits in one SQS message. */
  eventTrimmed: z.optional(z.string()),
});
/** A record as it is put in the queue: `event` is the event as it was received, every field kept. */
export type ResumeRecord = Omit<z.infer<typeof resumeRecord>, "event"> & { event: unknown };

/** Whether an invocation's event is a resumable record rather than an Atlas trigger event. */
export function isResumeRecord(event: unknown): boolean {
  return typeof event === "object" && event !== null && (event as { kind?: unknown }).kind === RESUME_KIND;
}

/**
 * The record for `event` (as received, already validated), with `remaining` and `refused`.
 * An event so large that the record would not fit in an SQS message keeps its envelope and
 * user, without its `updatedFields`: `remaining` already names every lesson a replay needs.
 */
export function buildResumeRecord(
  event: unknown,
  outcome: { reason: string; remaining: string[]; refused: { lessonId: string; status: number }[] },
  now: Date = new Date(),
): ResumeRecord {
  const record: ResumeRecord = {
    kind: RESUME_KIND,
    reason: outcome.reason,
    failedAt: now.toISOString(),
    remaining: outcome.remaining,
    refused: outcome.refused,
    event,
  };
  if (Buffer.byteLength(JSON.stringify(record)) <= MAX_RECORD_BYTES) return record;
  const { detail } = event as UserUpdateEvent;
  return {
    ...record,
    event: { ...(event as object), detail: { ...detail, updateDescription: { ...detail.updateDescription, updatedFields: {} } } },
    eventTrimmed: "updatedFields left out to fit in one SQS message; remaining names the lessons",
  };
}
