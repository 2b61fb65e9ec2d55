/**
 * Wraps a body in the envelope its event source delivers it in, for `npm run invoke`
 * (EVENT_COMMAND's help gives the command line). The tests and the bench build their events
 * with the same functions.
 */
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { defineCommand, parseCommandLine, usageError } from "../lib/cli";

export const EVENT_COMMAND = defineCommand({
  command: "npm run event",
  help: `Usage: npm run --silent event -- sqs (--webhook <api-gateway-event.json> | --message <file>)... [--topic <arn>] [--queue <arn>] [--now]
       npm run --silent event -- sns (--webhook <api-gateway-event.json> | --message <file>) [--topic <arn>] [--now]
       npm run --silent event -- eventbridge --detail <file.json> [--source <source>] [--detail-type <type>] [--bus <name>]

Wraps a body in the envelope its event source delivers it in and prints the event as JSON on
stdout, for \`npm run invoke -- <function> --event <file>\` (--silent keeps npm's own lines out
of the file).

  sqs           a batch as an alma cache function's queue hands it over: one SQS record per
                body (1 to 10), each the SNS notification its topic wrote into the queue
  sns           one message as SNS hands it to a subscribed function (alma-webhook's topics)
  eventbridge   a JSON detail as EventBridge hands it to a rule's target (lessons, iota)

Options:
  --webhook <file>      a captured webhook delivery (an API Gateway event): its body is the message
  --message <file>      a file whose text is the message
  --now                 set each Alma message's \`time\` to now (captured deliveries date from 2018,
                        older than a tombstone lives: a cache function refuses them as stale)
  --topic <arn>         the SNS topic (default: a local one)
  --queue <arn>         the SQS queue (default: a local one)
  --detail <file.json>  eventbridge: the event's detail
  --source <source>     eventbridge: its source (default "local")
  --detail-type <type>  eventbridge: its detail-type (default "local event")
  --bus <name>          eventbridge: the bus it came through
  -h, --help            print this help and exit

Example:
  npm run --silent event -- sqs --webhook test/fixtures/payloads/alma-webhook/loan_created_event.json --now > /tmp/loan-created.sqs.json
  npm run invoke -- alma-loan-updated --event /tmp/loan-created.sqs.json
`,
  options: {
    webhook: { type: "string", multiple: true, default: [] },
    message: { type: "string", multiple: true, default: [] },
    topic: { type: "string" },
    queue: { type: "string" },
    detail: { type: "string" },
    source: { type: "string", default: "local" },
    "detail-type": { type: "string", default: "local event" },
    bus: { type: "string" },
    now: { type: "boolean", default: false },
  },
  allowPositionals: true,
});

const ACCOUNT = "000000000000";
const REGION = process.env.AWS_REGION ?? "eu-west-2";

const LOCAL_TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:local-topic`;
const LOCAL_QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:local-queue`;

/** An SNS notification as SNS writes it into a subscribed queue without raw message delivery: the SQS message's body. */
export function snsNotification(message: string, topicArn = LOCAL_TOPIC_ARN) {
  const messageId = randomUUID();
  return {
    Type: "Notification",
    MessageId: messageId,
    TopicArn: topicArn,
    Message: message,
    Timestamp: new Date().toISOString(),
    SignatureVersion: "1",
    Signature: "bG9jYWw=",
    SigningCertURL: `https://sns.${REGION}.amazonaws.com/SimpleNotificationService-local.pem`,
    UnsubscribeURL: `https://sns.${REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:${randomUUID()}`,
  };
}

/** An SQS → Lambda event (an event source mapping's batch) with one record per body, as the queue hands them out. */
export function sqsEvent(bodies: string[], queueArn = LOCAL_QUEUE_ARN) {
  const now = String(Date.now());
  return {
    Records: bodies.map((body) => ({
      messageId: randomUUID(),
      receiptHandle: Buffer.from(randomUUID()).toString("base64"),
      body,
      attributes: { ApproximateReceiveCount: "1", SentTimestamp: now, SenderId: ACCOUNT, ApproximateFirstReceiveTimestamp: now },
      messageAttributes: {},
      md5OfBody: createHash("md5").update(body).digest("hex"),
      eventSource: "aws:sqs",
      eventSourceARN: queueArn,
      awsRegion: REGION,
    })),
  };
}

/** A cache function's batch: each message as its topic wrote it into the function's queue. */
export function queuedSnsEvent(messages: string[], options: { topicArn?: string; queueArn?: string } = {}) {
  return sqsEvent(
    messages.map((message) => JSON.stringify(snsNotification(message, options.topicArn))),
    options.queueArn,
  );
}

/** An SNS → Lambda event holding one message, as SNS delivers it. */
export function snsEvent(message: string, topicArn = LOCAL_TOPIC_ARN) {
  const messageId = randomUUID();
  return {
    Records: [
      {
        EventSource: "aws:sns",
        EventVersion: "1.0",
        EventSubscriptionArn: `${topicArn}:${randomUUID()}`,
        Sns: {
          Type: "Notification",
          MessageId: messageId,
          TopicArn: topicArn,
          Subject: null,
          Message: message,
          Timestamp: new Date().toISOString(),
          SignatureVersion: "1",
          MessageAttributes: {},
        },
      },
    ],
  };
}

/** An EventBridge event around `detail`, as a rule's target receives it. */
export function eventBridgeEvent(detail: unknown, options: { source: string; detailType: string; bus?: string }) {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": options.detailType,
    source: options.source,
    account: ACCOUNT,
    time: new Date().toISOString(),
    region: REGION,
    resources: options.bus ? [`arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${options.bus}`] : [],
    detail,
  };
}

/** The raw body of a captured API Gateway delivery: what the webhook publishes to SNS. */
export function webhookBody(apiGatewayEvent: unknown): string {
  const body = (apiGatewayEvent as { body?: unknown } | null)?.body;
  if (typeof body !== "string") throw new Error("the webhook event has no string body");
  return body;
}

/** An Alma message with its event `time` set to `now`, for captured deliveries older than a tombstone lives. */
export function redated(message: string, now = new Date()): string {
  const body = JSON.parse(message) as Record<string, unknown>;
  return JSON.stringify({ ...body, time: now.toISOString() });
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

export function main(argv: string[]): number {
  const parsed = parseCommandLine(argv, EVENT_COMMAND);
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  if (positionals.length > 1) return usageError(EVENT_COMMAND, `one envelope at a time (got ${positionals.join(", ")})`);
  let event: unknown;
  const messages = () =>
    [...values.webhook.map((file) => webhookBody(readJson(file))), ...values.message.map((file) => fs.readFileSync(file, "utf8"))].map(
      (m) => (values.now ? redated(m) : m),
    );
  const count = values.webhook.length + values.message.length;
  if (positionals[0] === "sqs" && count >= 1 && count <= 10) {
    event = queuedSnsEvent(messages(), { topicArn: values.topic, queueArn: values.queue });
  } else if (positionals[0] === "sns" && count === 1) {
    event = snsEvent(messages()[0], values.topic);
  } else if (positionals[0] === "eventbridge" && values.detail !== undefined) {
    event = eventBridgeEvent(readJson(values.detail), { source: values.source, detailType: values["detail-type"], bus: values.bus });
  } else {
    const [kind] = positionals;
    if (!kind) return usageError(EVENT_COMMAND, "say which envelope: sqs, sns or eventbridge");
    if (!["sqs", "sns", "eventbridge"].includes(kind))
      return usageError(EVENT_COMMAND, `unknown envelope "${kind}": sqs, sns or eventbridge`);
    if (kind === "eventbridge") return usageError(EVENT_COMMAND, "eventbridge needs --detail <file.json>");
    return usageError(
      EVENT_COMMAND,
      kind === "sns"
        ? `sns wraps one --webhook or --message (got ${count})`
        : `sqs wraps 1 to 10 --webhook or --message files (got ${count})`,
    );
  }
  process.stdout.write(`${JSON.stringify(event, null, 2)}\n`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
