/**
 * Wraps a body in the envelope its event source delivers it in, for `npm run invoke`:
 *
 *   npm run --silent event -- sns --webhook <api-gateway-event.json> [--topic <arn>]
 *       the body of a captured webhook delivery, as SNS hands it to an alma cache function
 *   npm run --silent event -- sns --message <file> [--topic <arn>]
 *       a file's text as the SNS Message
 *   npm run --silent event -- eventbridge --detail <file.json> [--source <s>] [--detail-type <t>] [--bus <name>]
 *       a JSON detail as EventBridge hands it to a rule's target
 *
 * The event is printed as JSON on stdout.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { parseArgs } from "node:util";

const USAGE = [
  "usage: npm run --silent event -- sns (--webhook <api-gateway-event.json> | --message <file>) [--topic <arn>]",
  "       npm run --silent event -- eventbridge --detail <file.json> [--source <source>] [--detail-type <type>] [--bus <name>]",
].join("\n");

const ACCOUNT = "000000000000";
const REGION = process.env.AWS_REGION ?? "eu-west-2";

/** An SNS → Lambda event holding one message, as SNS delivers it. */
export function snsEvent(message: string, topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:local-topic`) {
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

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

export function main(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        webhook: { type: "string" },
        message: { type: "string" },
        topic: { type: "string" },
        detail: { type: "string" },
        source: { type: "string", default: "local" },
        "detail-type": { type: "string", default: "local event" },
        bus: { type: "string" },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  let event: unknown;
  if (positionals[0] === "sns" && (values.webhook !== undefined) !== (values.message !== undefined)) {
    const message = values.webhook !== undefined ? webhookBody(readJson(values.webhook)) : fs.readFileSync(values.message!, "utf8");
    event = snsEvent(message, values.topic);
  } else if (positionals[0] === "eventbridge" && values.detail !== undefined) {
    event = eventBridgeEvent(readJson(values.detail), { source: values.source, detailType: values["detail-type"], bus: values.bus });
  } else {
    process.stderr.write(`${USAGE}\n`);
    return 2;
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
