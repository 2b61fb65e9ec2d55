/** The SNS → Lambda envelope. Every record is handled, not just the first. */
import * as z from "zod/mini";
import { InvalidEventError, parseEvent } from "./events";

export const snsEvent = z.object({
  Records: z
    .array(
      z.object({
        EventSource: z.literal("aws:sns"),
        Sns: z.object({
          MessageId: z.optional(z.string()),
          TopicArn: z.optional(z.string()),
          Message: z.string(),
          Timestamp: z.optional(z.string()),
        }),
      }),
    )
    .check(z.minLength(1, "must hold at least one record")),
});

export interface SnsMessage<T> {
  /** Position in Records, for error messages. */
  index: number;
  messageId?: string;
  /** When SNS received the message (ISO 8601). */
  timestamp?: string;
  /** The parsed, validated message. */
  message: T;
}

/**
 * Parses the envelope and every record's Message (JSON) with `schema`. All records are
 * checked before any is handled, so a bad record fails the event before anything is written.
 */
export function parseSnsMessages<S extends z.ZodMiniType>(event: unknown, schema: S, what: string): SnsMessage<z.infer<S>>[] {
  const { Records } = parseEvent(snsEvent, event, "SNS event");
  return Records.map((record, index) => {
    const at = ["Records", index, "Sns", "Message"];
    let json: unknown;
    try {
      json = JSON.parse(record.Sns.Message);
    } catch {
      throw new InvalidEventError(what, [{ path: `Records[${index}].Sns.Message`, message: "is not JSON" }]);
    }
    return { index, messageId: record.Sns.MessageId, timestamp: record.Sns.Timestamp, message: parseEvent(schema, json, what, at) };
  });
}
