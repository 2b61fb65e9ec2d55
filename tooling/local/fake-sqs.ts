/**
 * A local stand-in for SQS's JSON protocol: SendMessage, SendMessageBatch, ReceiveMessage,
 * DeleteMessage, ChangeMessageVisibility and GetQueueAttributes, for handlers that send to a
 * queue and for the replay command, which reads dead-letter queues. No SQS server runs on
 * npm; this keeps the real SQS client, its signing and its body checksum in the test.
 *
 * A queue exists once it was created (`createQueue`) or sent to; asking to read or change
 * any other queue is answered as SQS answers it (QueueDoesNotExist). Received messages are
 * hidden for their visibility timeout and counted (ApproximateReceiveCount). `moveIn` puts a
 * message where SQS's redrive would, with its `DeadLetterQueueSourceArn`.
 */
import { createHash, randomUUID } from "node:crypto";
import { type HttpStub, type StubOptions, type StubResponse, startStub } from "./http-stub";

type MessageAttributes = Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;

export interface SentMessage {
  queueUrl: string;
  body: string;
  attributes: MessageAttributes;
}

/** A message held in a queue, as ReceiveMessage hands it out. */
export interface StoredMessage {
  messageId: string;
  body: string;
  messageAttributes: MessageAttributes;
  /** System attributes other than the counters: DeadLetterQueueSourceArn for a redriven message. */
  systemAttributes: Record<string, string>;
  /** When SQS first took the message (ms); kept when it is moved to a dead-letter queue. */
  sentTimestamp: number;
  receiveCount: number;
  /** Hidden until this time (ms). */
  visibleAt: number;
  receiptHandle?: string;
}

export interface FakeSqs {
  url: string;
  /** Every message sent, to any queue, in order (deleting one from its queue leaves it here). */
  messages: SentMessage[];
  /** Make the next `n` sends fail with this status (throttling, outage). */
  failNext(n: number, status?: number): void;
  queueUrl(name: string): string;
  /** The queue's ARN, as SQS gives it: `arn:aws:sqs:eu-west-2:000000000000:<name>`. */
  queueArn(name: string): string;
  createQueue(name: string): string;
  /** The messages a queue holds now, visible or not. */
  held(nameOrUrl: string): StoredMessage[];
  /** Puts a message in a queue as SQS's redrive moves it from `sourceArn`: id, body and first enqueue time kept. */
  moveIn(nameOrUrl: string, message: { messageId?: string; body: string; sentTimestamp?: number; sourceArn: string }): void;
  /** Puts a message in a queue with message attributes (as EventBridge or Lambda send them) and an enqueue time. */
  put(nameOrUrl: string, message: { body: string; messageAttributes?: Record<string, string>; sentTimestamp?: number }): string;
  stub: HttpStub;
  close(): Promise<void>;
}

const md5 = (text: string) => createHash("md5").update(text).digest("hex");
const ACCOUNT = "000000000000";
const REGION = "eu-west-2";

/** An error as SQS's JSON protocol answers it: its type, and the query protocol's code the SDK reports as `Code`. */
const error = (type: string, message: string, queryCode = type): StubResponse => ({
  status: 400,
  headers: { "x-amzn-query-error": `${queryCode};Sender` },
  body: { __type: `com.amazonaws.sqs#${type}`, message },
});

export async function startFakeSqs(options: StubOptions = {}): Promise<FakeSqs> {
  const messages: SentMessage[] = [];
  const queues = new Map<string, StoredMessage[]>();
  let failures = 0;
  let failureStatus = 500;
  let base = "";

  const nameOf = (nameOrUrl: string) => nameOrUrl.split("/").pop() ?? nameOrUrl;
  const queueOf = (nameOrUrl: string, create: boolean): StoredMessage[] | undefined => {
    const name = nameOf(nameOrUrl);
    if (!queues.has(name) && create) queues.set(name, []);
    return queues.get(name);
  };
  const store = (queueUrl: string, body: string, messageAttributes: MessageAttributes, extra: Partial<StoredMessage> = {}): string => {
    const messageId = extra.messageId ?? randomUUID();
    queueOf(queueUrl, true)!.push({
      systemAttributes: {},
      receiveCount: 0,
      visibleAt: 0,
      ...extra,
      messageId,
      body,
      messageAttributes,
      sentTimestamp: extra.sentTimestamp ?? Date.now(),
    });
    return messageId;
  };
  const byHandle = (queue: StoredMessage[], handle: string) => queue.find((m) => m.receiptHandle === handle);

  const stub = await startStub((req) => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const input = req.body ? JSON.parse(req.body) : {};
    if (failures > 0) {
      failures -= 1;
      return { status: failureStatus, body: { __type: "com.amazonaws.sqs#ServiceUnavailable", message: "injected failure" } };
    }
    const sending = target === "AmazonSQS.SendMessage" || target === "AmazonSQS.SendMessageBatch";
    const queue = input.QueueUrl === undefined ? undefined : queueOf(input.QueueUrl, sending);
    if (input.QueueUrl !== undefined && !queue)
      return error("QueueDoesNotExist", "The specified queue does not exist.", "AWS.SimpleQueueService.NonExistentQueue");
    switch (target) {
      case "AmazonSQS.SendMessage": {
        messages.push({ queueUrl: input.QueueUrl, body: input.MessageBody, attributes: input.MessageAttributes ?? {} });
        const messageId = store(input.QueueUrl, input.MessageBody, input.MessageAttributes ?? {});
        return { body: { MessageId: messageId, MD5OfMessageBody: md5(input.MessageBody) } };
      }
      case "AmazonSQS.SendMessageBatch": {
        const successful = input.Entries.map((e: { Id: string; MessageBody: string; MessageAttributes?: MessageAttributes }) => {
          messages.push({ queueUrl: input.QueueUrl, body: e.MessageBody, attributes: e.MessageAttributes ?? {} });
          return {
            Id: e.Id,
            MessageId: store(input.QueueUrl, e.MessageBody, e.MessageAttributes ?? {}),
            MD5OfMessageBody: md5(e.MessageBody),
          };
        });
        return { body: { Successful: successful, Failed: [] } };
      }
      case "AmazonSQS.ReceiveMessage": {
        const now = Date.now();
        const max = input.MaxNumberOfMessages ?? 1;
        const visibilityMs = (input.VisibilityTimeout ?? 30) * 1000;
        const batch = queue!.filter((m) => m.visibleAt <= now).slice(0, max);
        return {
          body: {
            Messages: batch.map((m) => {
              m.receiveCount += 1;
              m.visibleAt = now + visibilityMs;
              m.receiptHandle = `${m.messageId}#${m.receiveCount}#${randomUUID()}`;
              return {
                MessageId: m.messageId,
                ReceiptHandle: m.receiptHandle,
                MD5OfBody: md5(m.body),
                Body: m.body,
                Attributes: {
                  SentTimestamp: String(m.sentTimestamp),
                  ApproximateReceiveCount: String(m.receiveCount),
                  ...m.systemAttributes,
                },
                ...(Object.keys(m.messageAttributes).length > 0 ? { MessageAttributes: m.messageAttributes } : {}),
              };
            }),
          },
        };
      }
      case "AmazonSQS.DeleteMessage": {
        const message = byHandle(queue!, input.ReceiptHandle);
        if (!message)
          return error("ReceiptHandleIsInvalid", `The input receipt handle "${input.ReceiptHandle}" is not a valid receipt handle.`);
        queue!.splice(queue!.indexOf(message), 1);
        return { body: {} };
      }
      case "AmazonSQS.ChangeMessageVisibility": {
        const message = byHandle(queue!, input.ReceiptHandle);
        if (!message)
          return error("ReceiptHandleIsInvalid", `The input receipt handle "${input.ReceiptHandle}" is not a valid receipt handle.`);
        message.visibleAt = Date.now() + input.VisibilityTimeout * 1000;
        return { body: {} };
      }
      case "AmazonSQS.GetQueueAttributes": {
        const now = Date.now();
        const visible = queue!.filter((m) => m.visibleAt <= now).length;
        return {
          body: {
            Attributes: {
              ApproximateNumberOfMessages: String(visible),
              ApproximateNumberOfMessagesNotVisible: String(queue!.length - visible),
              MessageRetentionPeriod: String(14 * 24 * 3600),
              QueueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${nameOf(input.QueueUrl)}`,
            },
          },
        };
      }
      default:
        return { status: 400, body: { __type: "com.amazonaws.sqs#UnsupportedOperation", message: `fake SQS does not answer ${target}` } };
    }
  }, options);
  base = stub.url;
  const queueUrl = (name: string) => `${base}/${ACCOUNT}/${name}`;
  return {
    url: stub.url,
    messages,
    failNext(n, status = 500) {
      failures = n;
      failureStatus = status;
    },
    queueUrl,
    queueArn: (name) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`,
    createQueue(name) {
      queueOf(name, true);
      return queueUrl(name);
    },
    held: (nameOrUrl) => queueOf(nameOrUrl, false) ?? [],
    moveIn(nameOrUrl, message) {
      store(
        queueUrl(nameOf(nameOrUrl)),
        message.body,
        {},
        {
          messageId: message.messageId,
          sentTimestamp: message.sentTimestamp ?? Date.now(),
          systemAttributes: { DeadLetterQueueSourceArn: message.sourceArn },
        },
      );
    },
    put(nameOrUrl, message) {
      const attributes = Object.fromEntries(
        Object.entries(message.messageAttributes ?? {}).map(([k, v]) => [k, { DataType: "String", StringValue: v }]),
      );
      return store(queueUrl(nameOf(nameOrUrl)), message.body, attributes, { sentTimestamp: message.sentTimestamp ?? Date.now() });
    },
    stub,
    close: () => stub.close(),
  };
}
