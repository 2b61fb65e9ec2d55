/**
 * The messages that land in the stack's dead-letter queues, unwrapped into one shape: why the
 * message is there, where it goes back to, what the function gets, and the app's keys.
 *
 * The formats, and how each is told apart:
 * - `sqs-redrive`: SQS moved a message that its consumer failed on `maxReceiveCount` times.
 *   The body is the message as the source queue held it (for alma, an SNS notification), and
 *   the system attribute `DeadLetterQueueSourceArn` names that queue. Replayed as the source
 *   queue's event source mapping hands it to its function: an SQS event of one record.
 * - `sns-undelivered`: SNS could not deliver a notification to a subscribed queue at all (the
 *   subscription's redrive policy); the body is the notification, which names its topic.
 *   Replayed like the above, to the function that reads the queue the topic feeds.
 * - `lambda-on-failure`: Lambda's invocation record, from an asynchronous invocation that failed
 *   every retry (an on-failure destination): `requestContext.functionArn`, the event as
 *   `requestPayload`, the error as `responsePayload`. Replayed to that function with that event.
 * - `eventbridge-dlq`: an event a rule could not deliver to its target; the body is the event,
 *   the message attributes RULE_ARN, TARGET_ARN, ERROR_CODE and ERROR_MESSAGE say where and why.
 * - `scheduler-dlq`: a schedule's run that Scheduler could not deliver; the body is the
 *   target's input, and SCHEDULE_ARN, TARGET_ARN, ERROR_CODE and ERROR_MESSAGE are attributes.
 * - `lambda-dlq`: an asynchronous invocation kept by a function's own dead-letter queue: the
 *   event as the body, RequestID, ErrorCode and ErrorMessage as attributes.
 * - `lessons-resume`: lesson-completed's resumable record (handlers/lessons/resume-record.ts),
 *   the lessons of an event not sent yet: sent back to the function unchanged.
 * - `lessons-refused`: the records lesson-completed wrote before resumable records,
 *   `{reason, refused | lessons, event}` with the attribute failure=refused.
 * - `users-queue`: a user LAG-bulk-update-cache failed to load; it goes back to the users queue.
 */
import { createHash } from "node:crypto";
import type { Message, MessageAttributeValue } from "@aws-sdk/client-sqs";
import { cloudEventOf } from "../../handlers/iota/cloudevents";
import { completedLessons } from "../../handlers/lessons/lesson-sync";
import { RESUME_KIND } from "../../handlers/lessons/resume-record";

/** A dead-letter queue: an entry of the stack's `deadLetterQueues` output (DeadLetterQueueOutput), or one given with `--queue`. */
export interface QueueEntry {
  app: string;
  name: string;
  url: string;
  arn?: string;
  functionName?: string;
  sources?: { arn: string; functionName: string }[];
  sendBackTo?: { url: string; arn: string };
  reconciles?: boolean;
}

export const FORMATS = [
  "sqs-redrive",
  "sns-undelivered",
  "lambda-on-failure",
  "eventbridge-dlq",
  "scheduler-dlq",
  "lambda-dlq",
  "lessons-resume",
  "lessons-refused",
  "users-queue",
] as const;
export type Format = (typeof FORMATS)[number];

/** How a message goes back. */
export type Replay =
  /** Invoke the function synchronously with `payload`; `batch`: it is an SQS event, whose answer lists the records that failed. */
  | { action: "invoke"; functionName: string; region?: string; payload: unknown; batch: boolean }
  /** Send the body back to a queue whose consumer is outside the stack. */
  | { action: "send"; queueUrl: string; body: string; messageAttributes?: Record<string, MessageAttributeValue> }
  /** Nothing to replay: kept for a person. */
  | { action: "keep"; why: string };

export interface Parked {
  messageId: string;
  receiptHandle: string;
  /** When the message was first enqueued (SQS keeps that time when it moves a message). */
  sentAt?: Date;
  format: Format;
  reason: string;
  /** The function or queue it goes back to. */
  target: string;
  /** The app's keys: loan, request, user, lessons, CloudEvent id… */
  keys: Record<string, string>;
  replay: Replay;
}

/** A message the command cannot replay: its id and what is wrong. It stays in its queue. */
export class UnreadableMessage extends Error {
  constructor(
    readonly messageId: string,
    readonly problem: string,
  ) {
    super(`message ${messageId}: ${problem}`);
    this.name = "UnreadableMessage";
  }
}

export interface UnwrapOptions {
  /** `--function`: where a message that names no function goes, before the queue's own function. */
  functionName?: string;
  /** `--resend-refused`: lessons the API refused are sent again (after their cause was fixed). */
  resendRefused?: boolean;
}

const nameOfArn = (arn: string) => arn.split(":").pop() ?? arn;
const regionOfArn = (arn: string): string | undefined => (arn.startsWith("arn:") ? arn.split(":")[3] || undefined : undefined);
const isObject = (value: unknown): value is Record<string, any> => typeof value === "object" && value !== null && !Array.isArray(value);

/** `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` → its name and region. */
function lambdaTarget(arn: string, what: string, messageId: string): { functionName: string; region?: string } {
  const parts = arn.split(":");
  if (parts[0] !== "arn" || parts[2] !== "lambda" || parts[5] !== "function" || !parts[6]) {
    throw new UnreadableMessage(messageId, `${what} ${JSON.stringify(arn)} is not a Lambda function's ARN`);
  }
  return { functionName: parts[6], region: parts[3] || undefined };
}

function parseBody(message: Message): unknown {
  const body = message.Body ?? "";
  try {
    return JSON.parse(body);
  } catch {
    throw new UnreadableMessage(
      message.MessageId ?? "?",
      `its body is not JSON (${JSON.stringify(body.length > 60 ? `${body.slice(0, 60)}…` : body)})`,
    );
  }
}

/**
 * The SQS event a queue's event source mapping would hand its function for this one message:
 * the same message id and body, the source queue as `eventSourceARN`.
 */
export function sqsEventOf(message: Message, sourceArn: string | undefined) {
  const body = message.Body ?? "";
  const sent = message.Attributes?.SentTimestamp ?? String(Date.now());
  return {
    Records: [
      {
        messageId: message.MessageId,
        receiptHandle: "replayed-from-a-dead-letter-queue",
        body,
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: sent,
          SenderId: "replay",
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: createHash("md5").update(body).digest("hex"),
        eventSource: "aws:sqs",
        eventSourceARN: sourceArn ?? "",
        awsRegion: sourceArn ? regionOfArn(sourceArn) : undefined,
      },
    ],
  };
}

/** The app's keys in an event, as far as they can be read: nothing is required, nothing throws. */
export function appKeys(event: unknown): Record<string, string> {
  const keys: Record<string, string> = {};
  try {
    if (!isObject(event)) return keys;
    // alma: an SQS event of SNS notifications, or one notification, whose Message is Alma's.
    const records = Array.isArray(event.Records) ? event.Records : undefined;
    const notification = records?.[0]?.body !== undefined ? JSON.parse(records[0].body) : event.Type === "Notification" ? event : undefined;
    if (isObject(notification) && typeof notification.Message === "string") {
      const alma = JSON.parse(notification.Message);
      if (isObject(alma.event) && typeof alma.event.value === "string") keys.event = alma.event.value;
      if (isObject(alma.item_loan)) {
        keys.loan = String(alma.item_loan.loan_id);
        if (alma.item_loan.user_id !== undefined) keys.user = String(alma.item_loan.user_id);
      }
      if (isObject(alma.user_request)) {
        keys.request = String(alma.user_request.request_id);
        if (alma.user_request.user_primary_id !== undefined) keys.user = String(alma.user_request.user_primary_id);
      }
      if (typeof alma.time === "string") keys.time = alma.time;
      return keys;
    }
    // lessons: a resumable record, or the Atlas trigger event.
    const resume = event.kind === RESUME_KIND ? event : undefined;
    const atlas = resume ? resume.event : event;
    const fullDocument = isObject(atlas?.detail) ? atlas.detail.fullDocument : undefined;
    if (isObject(fullDocument) && typeof fullDocument.externalId === "string") {
      keys.user = fullDocument.externalId.split("|").pop() ?? fullDocument.externalId;
      if (typeof fullDocument.email === "string") keys.email = fullDocument.email;
      const lessons = resume
        ? (resume.remaining as string[])
        : completedLessons(atlas.detail.updateDescription?.updatedFields ?? {}).lessonIds;
      keys.lessons = lessons.join(",");
      if (resume && Array.isArray(resume.refused) && resume.refused.length > 0) {
        keys.refused = resume.refused.map((r: { lessonId: string; status: number }) => `${r.lessonId} (${r.status})`).join(",");
      }
      return keys;
    }
    // iota: a CloudEvent, bare or in an EventBridge envelope.
    const cloudevent = cloudEventOf(event);
    keys.cloudevent = cloudevent.id;
    keys.type = cloudevent.type;
    keys.source = cloudevent.source;
  } catch {
    // Keys are for the reader; what could not be read is left out.
  }
  return keys;
}

/** A lessons record whose lessons were refused: sent only with `--resend-refused`, as lessons to send. */
function lessonsRecord(record: Record<string, any>, messageId: string, options: UnwrapOptions): { payload: unknown } | { why: string } {
  const remaining: string[] = Array.isArray(record.remaining) ? record.remaining : [];
  const refused: { lessonId: string; status: number }[] = Array.isArray(record.refused) ? record.refused : [];
  if (!isObject(record.event)) throw new UnreadableMessage(messageId, "the lessons record holds no event");
  if (options.resendRefused && refused.length > 0) {
    return { payload: { ...record, remaining: [...remaining, ...refused.map((r) => r.lessonId)], refused: [] } };
  }
  if (remaining.length === 0) {
    const list = refused.map((r) => `${r.lessonId} (HTTP ${r.status})`).join(", ");
    return {
      why: `nothing to resend: the Learning Paths API refused ${list || "no lesson"} for good; once the cause is fixed, --resend-refused sends them`,
    };
  }
  return { payload: record };
}

/** Unwraps one received message of `queue`; throws UnreadableMessage when it cannot be replayed. */
export function unwrap(message: Message, queue: QueueEntry, options: UnwrapOptions = {}): Parked {
  const messageId = message.MessageId ?? "?";
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  const sentMs = Number(message.Attributes?.SentTimestamp);
  const base = { messageId, receiptHandle: message.ReceiptHandle ?? "", sentAt: Number.isFinite(sentMs) ? new Date(sentMs) : undefined };
  const fallbackFunction = options.functionName ?? queue.functionName;
  const sourceArn = message.Attributes?.DeadLetterQueueSourceArn;
  const consumerOf = (arn: string) => queue.sources?.find((s) => s.arn === arn)?.functionName;
  const invoke = (functionName: string, payload: unknown, batch: boolean, region?: string): Replay => ({
    action: "invoke",
    functionName,
    region: region ?? (queue.arn ? regionOfArn(queue.arn) : undefined),
    payload,
    batch,
  });
  const parked = (format: Format, reason: string, replay: Replay, keysOf: unknown): Parked => ({
    ...base,
    format,
    reason,
    target: replay.action === "invoke" ? replay.functionName : replay.action === "send" ? replay.queueUrl : "-",
    keys: appKeys(keysOf),
    replay,
  });
  const needFunction = (what: string) => {
    if (!fallbackFunction)
      throw new UnreadableMessage(messageId, `${what} names no function, and the queue has none: pass --function <name>`);
    return fallbackFunction;
  };

  if (queue.sendBackTo) {
    const body = message.Body ?? "";
    return {
      ...base,
      format: "users-queue",
      reason: `the users queue's consumer failed it every receive${sourceArn ? ` (moved from ${nameOfArn(sourceArn)})` : ""}`,
      target: queue.sendBackTo.url,
      keys: body.length <= 64 && !body.includes("\n") ? { user: body } : {},
      replay: { action: "send", queueUrl: queue.sendBackTo.url, body, messageAttributes: message.MessageAttributes },
    };
  }

  if (sourceArn) {
    const functionName = consumerOf(sourceArn) ?? options.functionName;
    if (!functionName)
      throw new UnreadableMessage(
        messageId,
        `SQS moved it here from ${sourceArn}, which no function of the stack reads: pass --function <name>`,
      );
    parseBody(message);
    const event = sqsEventOf(message, sourceArn);
    return parked(
      "sqs-redrive",
      `its function failed it on every receive from ${nameOfArn(sourceArn)} (why: the function's logs, by message id)`,
      invoke(functionName, event, true),
      event,
    );
  }

  if (attribute("SCHEDULE_ARN") !== undefined) {
    const target = lambdaTarget(attribute("TARGET_ARN") ?? "", "TARGET_ARN", messageId);
    // A Lambda target without an input gets an empty object.
    const payload = (message.Body ?? "").trim() === "" ? {} : parseBody(message);
    const reason = `Scheduler could not run ${nameOfArn(attribute("SCHEDULE_ARN")!).replace(/^schedule\//, "")}: ${attribute("ERROR_CODE") ?? "?"}${attribute("ERROR_MESSAGE") ? `: ${attribute("ERROR_MESSAGE")}` : ""}`;
    return parked("scheduler-dlq", reason, invoke(target.functionName, payload, false, target.region), payload);
  }

  if (attribute("RULE_ARN") !== undefined || attribute("TARGET_ARN") !== undefined) {
    const target = lambdaTarget(attribute("TARGET_ARN") ?? "", "TARGET_ARN", messageId);
    const payload = parseBody(message);
    const retries = attribute("RETRY_ATTEMPTS") ? ` after ${attribute("RETRY_ATTEMPTS")} retries` : "";
    const reason = `EventBridge could not deliver it${retries}: ${attribute("ERROR_CODE") ?? "?"}${attribute("ERROR_MESSAGE") ? `: ${attribute("ERROR_MESSAGE")}` : ""}`;
    return parked("eventbridge-dlq", reason, invoke(target.functionName, payload, false, target.region), payload);
  }

  if (attribute("ErrorCode") !== undefined && attribute("RequestID") !== undefined) {
    const payload = parseBody(message);
    return parked(
      "lambda-dlq",
      `${attribute("ErrorCode")}: ${attribute("ErrorMessage") ?? ""}`,
      invoke(needFunction("a function's dead-letter message"), payload, false),
      payload,
    );
  }

  const body = parseBody(message);
  if (!isObject(body)) throw new UnreadableMessage(messageId, `its body is JSON but not an object (${JSON.stringify(body).slice(0, 60)})`);

  if (isObject(body.requestContext) && typeof body.requestContext.functionArn === "string" && "requestPayload" in body) {
    const target = lambdaTarget(body.requestContext.functionArn, "requestContext.functionArn", messageId);
    const error = isObject(body.responsePayload)
      ? `${body.responsePayload.errorType ?? "Error"}: ${body.responsePayload.errorMessage ?? ""}`
      : "no response";
    const reason = `${body.requestContext.condition ?? "failed"} after ${body.requestContext.approximateInvokeCount ?? "?"} attempt(s): ${error}`;
    return parked("lambda-on-failure", reason, invoke(target.functionName, body.requestPayload, false, target.region), body.requestPayload);
  }

  if (body.kind === RESUME_KIND || attribute("kind") === RESUME_KIND) {
    const functionName = needFunction("a lessons-resume record");
    const outcome = lessonsRecord(body, messageId, options);
    const replay: Replay = "why" in outcome ? { action: "keep", why: outcome.why } : invoke(functionName, outcome.payload, false);
    return { ...parked("lessons-resume", String(body.reason ?? ""), replay, body), target: functionName };
  }

  if (attribute("failure") === "refused" || (typeof body.reason === "string" && "event" in body)) {
    const functionName = needFunction("a lessons record");
    if (Array.isArray(body.refused)) {
      // As a resumable record with no lesson left, so that the function sends only what --resend-refused asks for.
      const record = {
        kind: RESUME_KIND,
        reason: body.reason,
        failedAt: (base.sentAt ?? new Date()).toISOString(),
        remaining: [],
        refused: body.refused,
        event: body.event,
      };
      const outcome = lessonsRecord(record, messageId, options);
      const replay: Replay = "why" in outcome ? { action: "keep", why: outcome.why } : invoke(functionName, outcome.payload, false);
      return { ...parked("lessons-refused", body.reason, replay, record), target: functionName };
    }
    // Kept whole (an update of more lessons than an old cap): the event goes back, every lesson of it.
    return parked("lessons-refused", body.reason, invoke(functionName, body.event, false), body.event);
  }

  if (body.Type === "Notification" && typeof body.TopicArn === "string") {
    const functionName = consumerOf(body.TopicArn) ?? options.functionName;
    if (!functionName)
      throw new UnreadableMessage(
        messageId,
        `an SNS notification from ${body.TopicArn}, whose messages no function of the stack reads: pass --function <name>`,
      );
    // As the function's queue would have handed it over.
    const queueArn = queue.sources?.find((s) => s.functionName === functionName && s.arn.startsWith("arn:aws:sqs:"))?.arn;
    const event = sqsEventOf(message, queueArn);
    return parked(
      "sns-undelivered",
      `SNS could not deliver it from ${nameOfArn(body.TopicArn)} to its queue`,
      invoke(functionName, event, true),
      event,
    );
  }

  throw new UnreadableMessage(
    messageId,
    "it is none of the formats the command knows (an SQS-redriven message, Lambda's on-failure record, an EventBridge or Scheduler dead-letter message, an SNS notification, a lessons record)",
  );
}

/** E-mail addresses as the handlers' logs mask them: `c***@example.com`. */
export function maskEmails(text: string): string {
  return text.replace(/([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g, "$1***@$2");
}
