/**
 * What `npm run dlq` reads in each format a dead-letter queue holds (scripts/dlq/formats.ts),
 * and how it picks the queues (scripts/dlq.ts), without servers: the messages are built as
 * ReceiveMessage returns them.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import type { Message } from "@aws-sdk/client-sqs";
import { queuesFromOutputs, selectQueues } from "../../scripts/dlq";
import { appKeys, FORMATS, maskEmails, type QueueEntry, UnreadableMessage, unwrap } from "../../scripts/dlq/formats";
import { regionOf } from "../../scripts/dlq/run";
import { snsNotification } from "../../scripts/events/wrap";
import { payloadPath } from "../helpers/fixtures";
import * as path from "node:path";
import { REPO_ROOT } from "../../paths";

const SENT = Date.UTC(2026, 0, 2, 3, 4, 5);
const message = (body: string, attributes: Record<string, string> = {}, system: Record<string, string> = {}): Message => ({
  MessageId: "m-1",
  ReceiptHandle: "h-1",
  Body: body,
  Attributes: { SentTimestamp: String(SENT), ApproximateReceiveCount: "1", ...system },
  MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: "String", StringValue: v }])),
});

const ALMA: QueueEntry = {
  app: "alma",
  name: "alma-failed-events",
  url: "https://sqs.eu-west-2.amazonaws.com/123456789012/alma-failed-events-1",
  arn: "arn:aws:sqs:eu-west-2:123456789012:alma-failed-events-1",
  sources: [
    { arn: "arn:aws:sqs:eu-west-2:123456789012:alma-loan-updated-queue-1", functionName: "alma-loan-updated-1" },
    { arn: "arn:aws:sns:eu-west-2:123456789012:alma-topic-loan-created-1", functionName: "alma-loan-updated-1" },
  ],
};
const LESSONS: QueueEntry = {
  app: "lessons",
  name: "lessons-failed-events",
  url: "https://sqs.us-east-1.amazonaws.com/123456789012/lessons-failed-events-1",
  arn: "arn:aws:sqs:us-east-1:123456789012:lessons-failed-events-1",
  functionName: "lessons-fn",
};

const almaMessage = () => JSON.parse(fs.readFileSync(payloadPath("alma-webhook", "loan_created_event.json"), "utf8")).body as string;
const atlasEvent = () => JSON.parse(fs.readFileSync(payloadPath("atlas-trigger", "user_update_event.json"), "utf8"));

function unreadable(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UnreadableMessage, String(err));
    assert.equal(err.messageId, "m-1");
    return err.problem;
  }
  assert.fail("expected the message to be refused");
}

describe("npm run dlq: the formats of parked messages", () => {
  describe("alma", () => {
    it("replays a message SQS moved from a function's queue as that queue's one-record event, to its function", () => {
      const body = JSON.stringify(snsNotification(almaMessage(), ALMA.sources![1].arn));
      const parked = unwrap(message(body, {}, { DeadLetterQueueSourceArn: ALMA.sources![0].arn }), ALMA);
      assert.equal(parked.format, "sqs-redrive");
      assert.equal(parked.target, "alma-loan-updated-1");
      assert.deepEqual(parked.sentAt, new Date(SENT));
      assert.match(parked.reason, /failed it on every receive from alma-loan-updated-queue-1/);
      assert.deepEqual(parked.keys, {
        event: "LOAN_CREATED",
        loan: "18263808770001221",
        user: "LBAAJH",
        time: JSON.parse(almaMessage()).time,
      });
      assert.equal(parked.replay.action, "invoke");
      if (parked.replay.action !== "invoke") return;
      assert.equal(parked.replay.batch, true);
      assert.equal(parked.replay.region, "eu-west-2");
      const { Records } = parked.replay.payload as { Records: Record<string, unknown>[] };
      assert.equal(Records.length, 1);
      assert.equal(Records[0].messageId, "m-1", "SQS keeps the id when it moves a message");
      assert.equal(Records[0].body, body);
      assert.equal(Records[0].eventSource, "aws:sqs");
      assert.equal(Records[0].eventSourceARN, ALMA.sources![0].arn);
    });

    it("replays a notification SNS could not deliver to the function that reads its topic's queue", () => {
      const body = JSON.stringify(snsNotification(almaMessage(), ALMA.sources![1].arn));
      const parked = unwrap(message(body), ALMA);
      assert.equal(parked.format, "sns-undelivered");
      assert.equal(parked.target, "alma-loan-updated-1");
      assert.match(parked.reason, /SNS could not deliver it from alma-topic-loan-created-1/);
      if (parked.replay.action !== "invoke") return assert.fail();
      assert.equal((parked.replay.payload as { Records: { eventSourceARN: string }[] }).Records[0].eventSourceARN, ALMA.sources![0].arn);
    });

    it("refuses a message from a queue or topic that no function of the stack reads, unless --function says where", () => {
      const body = JSON.stringify(snsNotification(almaMessage(), "arn:aws:sns:eu-west-2:123456789012:other"));
      assert.match(
        unreadable(() => unwrap(message(body), ALMA)),
        /an SNS notification from arn:aws:sns:eu-west-2:123456789012:other, whose messages no function of the stack reads: pass --function <name>/,
      );
      const moved = message(body, {}, { DeadLetterQueueSourceArn: "arn:aws:sqs:eu-west-2:123456789012:other-queue" });
      assert.match(
        unreadable(() => unwrap(moved, ALMA)),
        /SQS moved it here from arn:aws:sqs:eu-west-2:123456789012:other-queue, which no function of the stack reads/,
      );
      assert.equal(unwrap(moved, ALMA, { functionName: "chosen" }).target, "chosen");
      assert.match(
        unreadable(() => unwrap(message("not json", {}, { DeadLetterQueueSourceArn: ALMA.sources![0].arn }), ALMA)),
        /its body is not JSON \("not json"\)/,
      );
    });

    it("sends a users DLQ message back to the users queue as it is", () => {
      const queue: QueueEntry = {
        app: "alma",
        name: "alma-users-dlq",
        url: "https://q/dlq",
        sendBackTo: { url: "https://sqs.eu-west-2.amazonaws.com/1/users", arn: "arn:aws:sqs:eu-west-2:1:users" },
      };
      const parked = unwrap(message("lbaajh", {}, { DeadLetterQueueSourceArn: "arn:aws:sqs:eu-west-2:1:users" }), queue);
      assert.equal(parked.format, "users-queue");
      assert.deepEqual(parked.keys, { user: "lbaajh" });
      assert.deepEqual(parked.replay, {
        action: "send",
        queueUrl: "https://sqs.eu-west-2.amazonaws.com/1/users",
        body: "lbaajh",
        messageAttributes: {},
      });
    });
  });

  describe("lessons", () => {
    it("replays Lambda's on-failure record to the function it names, with the event it received", () => {
      const event = atlasEvent();
      const record = {
        version: "1.0",
        timestamp: "2026-01-02T03:04:05.000Z",
        requestContext: {
          requestId: "r-1",
          functionArn: "arn:aws:lambda:us-east-1:123456789012:function:lessons-fn-2:$LATEST",
          condition: "RetriesExhausted",
          approximateInvokeCount: 3,
        },
        requestPayload: event,
        responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
        responsePayload: { errorType: "Error", errorMessage: "no lesson marked complete for user 88778750" },
      };
      const parked = unwrap(message(JSON.stringify(record)), LESSONS);
      assert.equal(parked.format, "lambda-on-failure");
      assert.equal(parked.reason, "RetriesExhausted after 3 attempt(s): Error: no lesson marked complete for user 88778750");
      assert.deepEqual(parked.keys, { user: "88778750", email: "chris.mccann@topcoder.com", lessons: "616d47bc9eedc4bc7f621bec" });
      assert.deepEqual(parked.replay, {
        action: "invoke",
        functionName: "lessons-fn-2",
        region: "us-east-1",
        payload: event,
        batch: false,
      });
    });

    it("replays EventBridge's dead letter to its target, the event as the body", () => {
      const event = atlasEvent();
      const parked = unwrap(
        message(JSON.stringify(event), {
          RULE_ARN: "arn:aws:events:us-east-1:123456789012:rule/bus/lessons-rule",
          TARGET_ARN: "arn:aws:lambda:us-east-1:123456789012:function:lessons-fn",
          ERROR_CODE: "SDK_CLIENT_ERROR",
          ERROR_MESSAGE: "Unable to invoke Lambda function",
          RETRY_ATTEMPTS: "185",
        }),
        LESSONS,
      );
      assert.equal(parked.format, "eventbridge-dlq");
      assert.equal(parked.reason, "EventBridge could not deliver it after 185 retries: SDK_CLIENT_ERROR: Unable to invoke Lambda function");
      assert.deepEqual(parked.replay, { action: "invoke", functionName: "lessons-fn", region: "us-east-1", payload: event, batch: false });
      assert.match(
        unreadable(() => unwrap(message("{}", { RULE_ARN: "r", TARGET_ARN: "arn:aws:sqs:us-east-1:1:q" }), LESSONS)),
        /TARGET_ARN "arn:aws:sqs:us-east-1:1:q" is not a Lambda function's ARN/,
      );
    });

    it("sends a resumable record back unchanged to the queue's function; one of refusals only is kept unless --resend-refused", () => {
      const record = {
        kind: "lessons-resume",
        reason: "2 lesson(s) not sent",
        failedAt: "2026-01-02T00:00:00.000Z",
        remaining: ["b", "c"],
        refused: [{ lessonId: "x", status: 404 }],
        event: atlasEvent(),
      };
      const parked = unwrap(message(JSON.stringify(record), { kind: "lessons-resume" }), LESSONS);
      assert.equal(parked.format, "lessons-resume");
      assert.equal(parked.reason, "2 lesson(s) not sent");
      assert.deepEqual(parked.keys, { user: "88778750", email: "chris.mccann@topcoder.com", lessons: "b,c", refused: "x (404)" });
      assert.deepEqual(parked.replay, { action: "invoke", functionName: "lessons-fn", region: "us-east-1", payload: record, batch: false });

      const refusedOnly = { ...record, remaining: [] };
      const kept = unwrap(message(JSON.stringify(refusedOnly)), LESSONS);
      assert.deepEqual(kept.replay, {
        action: "keep",
        why: "nothing to resend: the Learning Paths API refused x (HTTP 404) for good; once the cause is fixed, --resend-refused sends them",
      });
      const resent = unwrap(message(JSON.stringify(refusedOnly)), LESSONS, { resendRefused: true });
      assert.deepEqual(resent.replay.action === "invoke" && resent.replay.payload, { ...refusedOnly, remaining: ["x"], refused: [] });
      assert.match(
        unreadable(() => unwrap(message(JSON.stringify(record)), { ...LESSONS, functionName: undefined })),
        /a lessons-resume record names no function, and the queue has none: pass --function <name>/,
      );
    });

    it("reads the records lesson-completed wrote before resumable records: refusals as a record of refusals, a whole event as that event", () => {
      const event = atlasEvent();
      const refused = unwrap(
        message(JSON.stringify({ reason: "lessons refused by the Learning Paths API", refused: [{ lessonId: "x", status: 400 }], event }), {
          failure: "refused",
        }),
        LESSONS,
      );
      assert.equal(refused.format, "lessons-refused");
      assert.equal(refused.replay.action, "keep");
      const resent = unwrap(message(JSON.stringify({ reason: "refused", refused: [{ lessonId: "x", status: 400 }], event })), LESSONS, {
        resendRefused: true,
      });
      assert.deepEqual(resent.replay.action === "invoke" && resent.replay.payload, {
        kind: "lessons-resume",
        reason: "refused",
        failedAt: new Date(SENT).toISOString(),
        remaining: ["x"],
        refused: [],
        event,
      });
      const whole = unwrap(
        message(JSON.stringify({ reason: "the update completes 150 lessons at once, more than 100", lessons: 150, event }), {
          failure: "refused",
        }),
        LESSONS,
      );
      assert.deepEqual(whole.replay, { action: "invoke", functionName: "lessons-fn", region: "us-east-1", payload: event, batch: false });
    });
  });

  describe("skills, iota and others", () => {
    it("replays Scheduler's dead letter to its target, an empty body as an empty event", () => {
      const parked = unwrap(
        message("", {
          SCHEDULE_ARN: "arn:aws:scheduler:us-east-1:123456789012:schedule/default/skills-schedule-1",
          TARGET_ARN: "arn:aws:lambda:us-east-1:123456789012:function:skills-sync-1",
          ERROR_CODE: "AWS.Scheduler.InternalServerError",
          ERROR_MESSAGE: "Unexpected error occurred while processing the request.",
          EXECUTION_ID: "e-1",
        }),
        { app: "skills", name: "skills-failed-invocations", url: "https://q", reconciles: true },
      );
      assert.equal(parked.format, "scheduler-dlq");
      assert.equal(
        parked.reason,
        "Scheduler could not run default/skills-schedule-1: AWS.Scheduler.InternalServerError: Unexpected error occurred while processing the request.",
      );
      assert.deepEqual(parked.replay, { action: "invoke", functionName: "skills-sync-1", region: "us-east-1", payload: {}, batch: false });
    });

    it("shows a CloudEvent's id, type and source, bare or in its EventBridge envelope", () => {
      const cloudevent = { id: "ce-1", source: "svc", type: "cmd.record.create.v0", data: {} };
      assert.deepEqual(appKeys(cloudevent), { cloudevent: "ce-1", type: "cmd.record.create.v0", source: "svc" });
      assert.deepEqual(appKeys({ "detail-type": "CloudEvent", detail: cloudevent }), {
        cloudevent: "ce-1",
        type: "cmd.record.create.v0",
        source: "svc",
      });
      assert.deepEqual(appKeys({ nothing: "known" }), {});
    });

    it("replays a function's own dead-letter message (the event, RequestID and ErrorCode attributes) to the queue's function", () => {
      const parked = unwrap(
        message(JSON.stringify({ id: "ce-1", source: "s", type: "t" }), { RequestID: "r-1", ErrorCode: "200", ErrorMessage: "boom" }),
        LESSONS,
      );
      assert.equal(parked.format, "lambda-dlq");
      assert.deepEqual(parked.replay, {
        action: "invoke",
        functionName: "lessons-fn",
        region: "us-east-1",
        payload: { id: "ce-1", source: "s", type: "t" },
        batch: false,
      });
    });

    it("refuses what it does not know, naming the message and why", () => {
      assert.match(
        unreadable(() => unwrap(message("{oops"), LESSONS)),
        /its body is not JSON \("\{oops"\)/,
      );
      assert.match(
        unreadable(() => unwrap(message("[1,2]"), LESSONS)),
        /its body is JSON but not an object/,
      );
      assert.match(
        unreadable(() => unwrap(message(JSON.stringify({ hello: "world" })), LESSONS)),
        /it is none of the formats the command knows/,
      );
    });
  });

  describe("queues and output", () => {
    const OUTPUTS = { stage: "dev", deadLetterQueues: [LESSONS, ALMA] };

    it("reads the queues from the stack's outputs, naming a bad field", () => {
      assert.deepEqual(queuesFromOutputs(OUTPUTS, "f"), [LESSONS, ALMA]);
      assert.deepEqual(queuesFromOutputs([LESSONS], "f"), [LESSONS]);
      assert.throws(
        () => queuesFromOutputs({ stage: "dev" }, "dev's outputs"),
        /dev's outputs has no deadLetterQueues output: the stack was deployed before it existed/,
      );
      assert.throws(() => queuesFromOutputs({ deadLetterQueues: [{ ...LESSONS, url: 7 }] }, "f"), /deadLetterQueues\[0\]\.url/);
    });

    it("selects queues by name, URL or app, reads an unlisted URL as given, and names the known queues for an unknown one", () => {
      const all = [LESSONS, ALMA];
      assert.deepEqual(selectQueues(all, [], undefined, undefined), all);
      assert.deepEqual(selectQueues(all, [], "alma", undefined), [ALMA]);
      assert.deepEqual(selectQueues(all, [LESSONS.url], undefined, "other-fn"), [{ ...LESSONS, functionName: "other-fn" }]);
      assert.deepEqual(selectQueues(undefined, ["https://sqs.ap-southeast-2.amazonaws.com/123456789012/some-dlq"], undefined, "fn"), [
        {
          app: "-",
          name: "some-dlq",
          url: "https://sqs.ap-southeast-2.amazonaws.com/123456789012/some-dlq",
          arn: "arn:aws:sqs:ap-southeast-2:123456789012:some-dlq",
          functionName: "fn",
        },
      ]);
      assert.throws(
        () => selectQueues(all, ["nope"], undefined, undefined),
        /unknown queue "nope": the stack's dead-letter queues are lessons-failed-events, alma-failed-events/,
      );
      assert.throws(
        () => selectQueues(all, [], "hdoc", undefined),
        /unknown app "hdoc": the stack's apps with dead-letter queues are lessons, alma/,
      );
    });

    it("finds a queue's region in its ARN or URL", () => {
      assert.equal(regionOf(ALMA), "eu-west-2");
      assert.equal(regionOf({ url: "https://sqs.us-east-1.amazonaws.com/1/q" }), "us-east-1");
      assert.equal(regionOf({ url: "https://eu-west-1.queue.amazonaws.com/1/q" }), "eu-west-1");
    });

    it("masks e-mail addresses as the handlers' logs do", () => {
      assert.equal(maskEmails('{"email":"chris.mccann@topcoder.com","to":"a@b.co"}'), '{"email":"c***@topcoder.com","to":"a***@b.co"}');
    });
  });

  it("are each described in docs/runbook.md's table, and the command is an npm script", () => {
    const runbook = fs.readFileSync(path.join(REPO_ROOT, "docs", "runbook.md"), "utf8");
    const section = runbook.slice(runbook.indexOf("## Parked events: list and replay"));
    for (const format of FORMATS) assert.ok(section.includes(`| \`${format}\``), format);
    assert.equal(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).scripts.dlq, "tsx scripts/dlq.ts");
  });
});
