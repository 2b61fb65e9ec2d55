/**
 * A local stand-in for SQS's JSON protocol (SendMessage, SendMessageBatch,
 * GetQueueAttributes), for handlers that send to a queue. No SQS server runs on npm; this
 * keeps the handler's real SQS client, its signing and its body checksum in the test.
 */
import { createHash, randomUUID } from "node:crypto";
import { type HttpStub, type StubOptions, startStub } from "./http-stub";

export interface SentMessage {
  queueUrl: string;
  body: string;
  attributes: Record<string, { DataType: string; StringValue?: string }>;
}

export interface FakeSqs {
  url: string;
  /** Messages per queue URL, in order. */
  messages: SentMessage[];
  /** Make the next `n` sends fail with this status (throttling, outage). */
  failNext(n: number, status?: number): void;
  queueUrl(name: string): string;
  stub: HttpStub;
  close(): Promise<void>;
}

const md5 = (text: string) => createHash("md5").update(text).digest("hex");

export async function startFakeSqs(options: StubOptions = {}): Promise<FakeSqs> {
  const messages: SentMessage[] = [];
  let failures = 0;
  let failureStatus = 500;
  const stub = await startStub((req) => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const input = req.body ? JSON.parse(req.body) : {};
    if (failures > 0) {
      failures -= 1;
      return { status: failureStatus, body: { __type: "com.amazonaws.sqs#ServiceUnavailable", message: "injected failure" } };
    }
    switch (target) {
      case "AmazonSQS.SendMessage":
        messages.push({ queueUrl: input.QueueUrl, body: input.MessageBody, attributes: input.MessageAttributes ?? {} });
        return { body: { MessageId: randomUUID(), MD5OfMessageBody: md5(input.MessageBody) } };
      case "AmazonSQS.SendMessageBatch":
        for (const entry of input.Entries) messages.push({ queueUrl: input.QueueUrl, body: entry.MessageBody, attributes: entry.MessageAttributes ?? {} });
        return {
          body: {
            Successful: input.Entries.map((e: { Id: string; MessageBody: string }) => ({ Id: e.Id, MessageId: randomUUID(), MD5OfMessageBody: md5(e.MessageBody) })),
            Failed: [],
          },
        };
      case "AmazonSQS.GetQueueAttributes":
        return { body: { Attributes: { ApproximateNumberOfMessages: String(messages.filter((m) => m.queueUrl === input.QueueUrl).length) } } };
      default:
        return { status: 400, body: { __type: "com.amazonaws.sqs#UnsupportedOperation", message: `fake SQS does not answer ${target}` } };
    }
  }, options);
  return {
    url: stub.url,
    messages,
    failNext(n, status = 500) {
      failures = n;
      failureStatus = status;
    },
    queueUrl: (name) => `${stub.url}/000000000000/${name}`,
    stub,
    close: () => stub.close(),
  };
}
