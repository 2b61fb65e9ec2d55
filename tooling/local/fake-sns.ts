/**
 * A local stand-in for SNS's query protocol (Publish), for the webhook. No SNS server runs
 * on npm; this keeps the handler's real SNS client and its signing in the test.
 */
import { randomUUID } from "node:crypto";
import { type HttpStub, type StubOptions, startStub } from "./http-stub";

export interface Published {
  topicArn: string;
  message: string;
}

export interface FakeSns {
  url: string;
  published: Published[];
  failNext(n: number): void;
  /** Answer every request this much later (a slow SNS). */
  delayMs: number;
  stub: HttpStub;
  close(): Promise<void>;
}

export async function startFakeSns(options: StubOptions = {}): Promise<FakeSns> {
  const published: Published[] = [];
  let failures = 0;
  const fake = { delayMs: 0 };
  const stub = await startStub(async (req) => {
    if (fake.delayMs > 0) await new Promise((r) => setTimeout(r, fake.delayMs));
    const form = new URLSearchParams(req.body);
    if (failures > 0) {
      failures -= 1;
      return {
        status: 500,
        headers: { "content-type": "text/xml" },
        body: "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>injected failure</Message></Error></ErrorResponse>",
      };
    }
    if (form.get("Action") !== "Publish") return { status: 400, body: `fake SNS does not answer ${form.get("Action")}` };
    published.push({ topicArn: form.get("TopicArn") ?? "", message: form.get("Message") ?? "" });
    const id = randomUUID();
    return {
      headers: { "content-type": "text/xml" },
      body: `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${id}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
    };
  }, options);
  return Object.assign(fake, { url: stub.url, published, failNext: (n: number) => void (failures = n), stub, close: () => stub.close() });
}
