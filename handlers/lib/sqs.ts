/**
 * The SQS → Lambda envelope (an event source mapping's batch), for queues that an SNS topic
 * feeds without raw message delivery: each record's body is then the SNS notification, JSON
 * with its Type, MessageId, TopicArn, Message and Timestamp.
 *
 * A batch is reported record by record (`ReportBatchItemFailures`), so a bad record is an
 * error of its own, not the batch's: only an envelope that names no records at all fails
 * the whole batch.
 */
import * as z from "zod/mini";
import { InvalidEventError, MAX_BATCH_BYTES, MAX_EVENT_BYTES, parseEvent } from "./events";

export const sqsEvent = z.object({
  Records: z
    .array(
      z.object({
        messageId: z.string().check(z.minLength(1, "must not be empty")),
        eventSource: z.literal("aws:sqs"),
        body: z.string(),
        attributes: z.optional(z.object({ ApproximateReceiveCount: z.optional(z.string()) })),
        eventSourceARN: z.optional(z.string()),
      }),
    )
    .check(z.minLength(1, "must hold at least one record")),
});

/** An SNS notification as SNS writes it into an SQS queue (raw message delivery off). */
export const snsNotification = z.object({
  Type: z.literal("Notification"),
  MessageId: z.string(),
  TopicArn: z.string(),
  Message: z.string(),
  Timestamp: z.string(),
});

/** Lambda's answer to a batch: the records that failed, by message id; the others are deleted from the queue. */
export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** An SQS → Lambda event: its records carry `eventSource: "aws:sqs"` (SNS's carry `EventSource`). */
export function isSqsEvent(event: unknown): boolean {
  const records = (event as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records) || records.length === 0) return false;
  const first = records[0] as { eventSource?: unknown } | null;
  return typeof first === "object" && first !== null && first.eventSource === "aws:sqs";
}

/** One record of a batch: its message, parsed and validated, or why it could not be. */
export type QueuedMessage<T> = {
  /** The SQS message id: what a failure is reported by. */
  messageId: string;
  /** Position in Records, for error messages. */
  index: number;
  /** How many times SQS has handed this message out, this time included. */
  receiveCount?: number;
} & (
  | { ok: true; topicArn: string; snsMessageId: string /** When SNS received the message (ISO 8601). */; timestamp: string; message: T }
  | { ok: false; error: InvalidEventError }
);

/**
 * Parses the envelope (an invalid one throws: no record of it can be reported), then each
 * record's body as an SNS notification and its Message (JSON) with `schema`, each Message
 * within SNS's 256 KiB. A record that fails is returned with its error, so that it alone is
 * retried.
 */
export function parseQueuedSnsMessages<S extends z.ZodMiniType>(event: unknown, schema: S, what: string): QueuedMessage<z.infer<S>>[] {
  const { Records } = parseEvent(sqsEvent, event, "SQS event", [], MAX_BATCH_BYTES);
  return Records.map((record, index) => {
    const received = Number(record.attributes?.ApproximateReceiveCount);
    const base = { messageId: record.messageId, index, ...(Number.isInteger(received) ? { receiveCount: received } : {}) };
    try {
      const notification = parseEvent(snsNotification, parseJson(record.body, `Records[${index}].body`, what), "SNS notification", [
        "Records",
        index,
        "body",
      ]);
      const bytes = Buffer.byteLength(notification.Message);
      if (bytes > MAX_EVENT_BYTES) {
        throw new InvalidEventError(what, [
          { path: `Records[${index}].body.Message`, message: `is ${bytes} bytes; at most ${MAX_EVENT_BYTES} are accepted` },
        ]);
      }
      const message = parseEvent(schema, parseJson(notification.Message, `Records[${index}].body.Message`, what), what, [
        "Records",
        index,
        "body",
        "Message",
      ]);
      return {
        ...base,
        ok: true as const,
        topicArn: notification.TopicArn,
        snsMessageId: notification.MessageId,
        timestamp: notification.Timestamp,
        message,
      };
    } catch (err) {
      if (err instanceof InvalidEventError) return { ...base, ok: false as const, error: err };
      throw err;
    }
  });
}

function parseJson(text: string, path: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidEventError(what, [{ path, message: "is not JSON" }]);
  }
}
