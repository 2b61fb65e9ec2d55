/** Bad input and faults of the alma cache functions and webhook: see test/helpers/faults.ts. */
import * as assert from "node:assert/strict";
import { SNSClient } from "@aws-sdk/client-sns";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { ALMA_TABLES, TOMBSTONES_TABLE } from "../../apps/alma/tables";
import type { AlmaCacheClients } from "../../handlers/alma/cache";
import { loanUpdated, requestUpdated } from "../../handlers/alma/cache-functions";
import { handleWebhook } from "../../handlers/alma/webhook";
import { documentsOf } from "../../handlers/lib/dynamodb";
import { SqsSender } from "../../handlers/lib/sqs-send";
import { ALMA_EVENTS } from "../../handlers/lib/env-names";
import { logger } from "../../handlers/lib/logger";
import { snsNotification, sqsEvent } from "../../scripts/events/wrap";
import { localClientConfig } from "../../tooling/local/aws";
import { type BadInput, fixture, OVERSIZED, useFaultRig, WEIRD_ID } from "../helpers/faults";

describe("bad input and faults", function () {
  this.timeout(60_000);
  const rig = useFaultRig();

  describe("alma cache", () => {
    let clients: AlmaCacheClients;
    let run = 0;
    const counts = async () => ({
      users: (await rig.dynamo.scan(clients.tables.users)).length,
      loans: (await rig.dynamo.scan(clients.tables.loans)).length,
      requests: (await rig.dynamo.scan(clients.tables.requests)).length,
      queued: rig.sqs.messages.length,
    });
    const sns = (...messages: string[]) => ({ Records: messages.map((Message) => ({ EventSource: "aws:sns", Sns: { Message } })) });
    const loanBody = () => JSON.parse(fixture("alma-webhook/loan_created_event.json").body);

    beforeEach(async () => {
      run += 1;
      const tables = { users: `f-users-${run}`, loans: `f-loans-${run}`, requests: `f-requests-${run}`, tombstones: `f-tombstones-${run}` };
      for (const [key, schema] of Object.entries(ALMA_TABLES))
        await rig.dynamo.createTable(tables[key as keyof typeof ALMA_TABLES], schema);
      await rig.dynamo.createTable(tables.tombstones, TOMBSTONES_TABLE);
      // Through the fault proxy, with the SDK's own retry settings.
      clients = {
        documents: documentsOf(localClientConfig(rig.proxy.url)),
        sqs: new SqsSender(localClientConfig(rig.sqs.url)),
        tables,
        usersQueueUrl: rig.sqs.queueUrl("users"),
        now: () => Date.parse("2018-02-23T12:00:00Z"),
      };
      await rig.dynamo.documents.send(new PutCommand({ TableName: tables.users, Item: { primary_id: "lbaajh", expiry_date: 2e9 } }));
    });

    const withoutLoanId = () => {
      const b = loanBody();
      delete b.item_loan.loan_id;
      return JSON.stringify(b);
    };
    const objectLoanId = () => {
      const b = loanBody();
      b.item_loan.loan_id = { id: 12345 };
      return JSON.stringify(b);
    };
    const cases: BadInput[] = [
      { name: "empty event", event: {}, error: /invalid SNS event: Records/ },
      { name: "EventBridge envelope where SNS is expected", event: fixture("atlas-trigger/user_update_event.json"), error: /Records/ },
      {
        name: "a record that is not SNS",
        event: { Records: [{ EventSource: "aws:sqs", body: "{}" }] },
        error: /Records\[0\]\.EventSource/,
      },
      { name: "missing loan_id", event: sns(withoutLoanId()), error: /Records\[0\]\.Sns\.Message\.item_loan\.loan_id/ },
      {
        name: "a loan_id that is an object",
        event: sns(objectLoanId()),
        error: /Records\[0\]\.Sns\.Message\.item_loan\.loan_id: must be text or a number/,
      },
      { name: "a message that is not JSON", event: sns("<xml/>"), error: /Records\[0\]\.Sns\.Message: is not JSON/ },
      {
        name: "a request event where a loan is expected",
        event: sns(fixture("alma-webhook/request_created_event.json").body),
        error: /item_loan/,
      },
      { name: "oversized payload", event: sns(JSON.stringify({ ...loanBody(), padding: OVERSIZED })), error: /at most 262144/ },
    ];
    for (const c of cases) {
      it(`refuses ${c.name}, naming the field, and writes nothing`, async () => {
        const before = await counts();
        await assert.rejects(loanUpdated(clients)(c.event), c.error);
        assert.deepEqual(await counts(), before);
      });
    }

    // From the function's queue: a bad record is reported alone and the batch's other records are applied.
    const notified = (message: string) => JSON.stringify(snsNotification(message));
    const sqsCases: { name: string; body: string; error: RegExp }[] = [
      { name: "a body that is the raw message (raw delivery on)", body: JSON.stringify(loanBody()), error: /Records\[0\]\.body\.Type/ },
      { name: "a body that is not JSON", body: "<xml/>", error: /Records\[0\]\.body: is not JSON/ },
      {
        name: "a subscription confirmation",
        body: JSON.stringify({ ...snsNotification("x"), Type: "SubscriptionConfirmation" }),
        error: /Records\[0\]\.body\.Type/,
      },
      { name: "a Message that is not JSON", body: notified("<xml/>"), error: /Records\[0\]\.body\.Message: is not JSON/ },
      { name: "missing loan_id", body: notified(withoutLoanId()), error: /Records\[0\]\.body\.Message\.item_loan\.loan_id/ },
      {
        name: "a loan_id that is an object",
        body: notified(objectLoanId()),
        error: /Records\[0\]\.body\.Message\.item_loan\.loan_id: must be text or a number/,
      },
      { name: "an oversized Message", body: notified(JSON.stringify({ ...loanBody(), padding: OVERSIZED })), error: /at most 262144/ },
    ];
    for (const c of sqsCases) {
      it(`reports a queued record with ${c.name} alone, logs why, and applies the batch's other record`, async () => {
        const before = await counts();
        const event = sqsEvent([c.body, notified(fixture("alma-webhook/loan_created_event.json").body)]);
        const lines: string[] = [];
        logger.setLogLevel("ERROR");
        const [out, err] = [process.stdout.write, process.stderr.write];
        const capture = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
        process.stdout.write = capture;
        process.stderr.write = capture;
        try {
          assert.deepEqual(await loanUpdated(clients)(event), { batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }] });
        } finally {
          [process.stdout.write, process.stderr.write] = [out, err];
          logger.setLogLevel("SILENT");
        }
        assert.deepEqual(await counts(), { ...before, loans: before.loans + 1 });
        const logged = lines.map((l) => JSON.parse(l));
        assert.equal(logged.length, 1);
        assert.equal(logged[0].messageId, event.Records[0].messageId);
        assert.match(logged[0].error, c.error);
        assert.match(logged[0].message, /retried, then kept in the failed-events queue/);
      });
    }

    it("reports a queued record that DynamoDB keeps throttling alone, and the record converges when SQS hands it out again", async () => {
      const first = notified(fixture("alma-webhook/loan_created_event.json").body);
      const second = notified(JSON.stringify({ ...loanBody(), item_loan: { ...loanBody().item_loan, loan_id: "second" } }));
      // The first record's user update is throttled on every attempt the SDK makes (3).
      rig.proxy.inject({ kind: "throttle" }, 3, /UpdateItem/);
      const event = sqsEvent([first, second]);
      assert.deepEqual(await loanUpdated(clients)(event), { batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }] });
      const user = async () =>
        (await rig.dynamo.documents.send(new GetCommand({ TableName: clients.tables.users, Key: { primary_id: "lbaajh" } }))).Item;
      assert.deepEqual((await user())?.loan_ids, ["second"]);
      assert.deepEqual(await loanUpdated(clients)(sqsEvent([first])), { batchItemFailures: [] });
      assert.deepEqual((await user())?.loan_ids, ["second", "18263808770001221"]);
    });

    it("stores unicode and injection-looking ids verbatim", async () => {
      const b = loanBody();
      b.item_loan.loan_id = WEIRD_ID;
      await loanUpdated(clients)(sns(JSON.stringify(b)));
      const stored = await rig.dynamo.documents.send(new GetCommand({ TableName: clients.tables.loans, Key: { loan_id: WEIRD_ID } }));
      assert.equal(stored.Item?.loan_id, WEIRD_ID);
      const user = await rig.dynamo.documents.send(new GetCommand({ TableName: clients.tables.users, Key: { primary_id: "lbaajh" } }));
      assert.deepEqual(user.Item?.loan_ids, [WEIRD_ID]);
    });

    it("rides out DynamoDB throttling within the SDK's retries", async () => {
      const faulted = rig.proxy.faulted;
      rig.proxy.inject({ kind: "throttle" }, 2);
      assert.equal((await loanUpdated(clients)(sns(fixture("alma-webhook/loan_created_event.json").body))).linked, 1);
      assert.equal(rig.proxy.faulted - faulted, 2);
      assert.deepEqual((await counts()).loans, 1);
    });

    it("throws when throttling outlasts the retries after a half-done write, and converges when the event is retried", async () => {
      const event = sns(fixture("alma-webhook/loan_created_event.json").body);
      // The loan is written; every attempt at the user's update is throttled.
      rig.proxy.inject({ kind: "throttle" }, 10, /UpdateItem/);
      await assert.rejects(loanUpdated(clients)(event), /throughput/);
      const user = () => rig.dynamo.documents.send(new GetCommand({ TableName: clients.tables.users, Key: { primary_id: "lbaajh" } }));
      assert.equal((await user()).Item?.loan_ids, undefined, "the user is not half-updated");
      assert.equal(rig.sqs.messages.length, 0);
      rig.proxy.inject({ kind: "throttle" }, 0);
      await loanUpdated(clients)(event);
      assert.deepEqual((await user()).Item?.loan_ids, ["18263808770001221"]);
      assert.equal((await rig.dynamo.scan(clients.tables.loans)).length, 1, "the retried event leaves one loan");
    });

    it("retries a failing SQS send, and throws if SQS stays down so that the event is retried", async () => {
      await rig.dynamo.documents.send(new PutCommand({ TableName: clients.tables.users, Item: { primary_id: "lbaajh", expiry_date: 1 } }));
      rig.sqs.failNext(1);
      assert.equal((await loanUpdated(clients)(sns(fixture("alma-webhook/loan_created_event.json").body))).queued, 1);
      rig.sqs.failNext(10);
      await assert.rejects(
        requestUpdated(clients)(
          sns(
            JSON.stringify({
              ...JSON.parse(fixture("alma-webhook/request_created_event.json").body),
              user_request: {
                ...JSON.parse(fixture("alma-webhook/request_created_event.json").body).user_request,
                user_primary_id: "LBAAJH",
              },
            }),
          ),
        ),
      );
    });

    it("recovers from a dropped DynamoDB connection", async () => {
      rig.proxy.inject({ kind: "reset" }, 1);
      assert.equal((await loanUpdated(clients)(sns(fixture("alma-webhook/loan_created_event.json").body))).linked, 1);
    });
  });

  describe("alma webhook", () => {
    const deps = () => ({
      sns: new SNSClient(localClientConfig(rig.sns.url)),
      keys: { current: async () => "secretkey", previous: async () => undefined, refresh: async () => false },
      topicArns: Object.fromEntries(ALMA_EVENTS.map((e) => [e, `arn:aws:sns:eu-west-2:1:${e}`])),
    });
    const cases: [string, unknown, number, RegExp][] = [
      // Without a method or a body, an event reads as Alma's GET challenge, which lacks its parameter.
      ["empty event", {}, 400, /query parameter challenge is required/],
      ["an SNS envelope", { Records: [{ Sns: { Message: "{}" } }] }, 400, /query parameter challenge is required/],
      ["a bad signature", fixture("alma-webhook/invalid-signature.json"), 401, /X-Exl-Signature/],
      ["a body that is not JSON", fixture("alma-webhook/invalid-json.json"), 400, /not JSON/],
      ["an unknown event type", fixture("alma-webhook/invalid-event-type.json"), 422, /event\.value/],
      ["an oversized body", { httpMethod: "POST", headers: {}, body: OVERSIZED }, 413, /larger than/],
    ];
    for (const [name, event, status, message] of cases) {
      it(`answers ${status} to ${name}, publishing nothing`, async () => {
        const response = await handleWebhook(event, deps());
        assert.equal(response.statusCode, status, name);
        assert.match(JSON.parse(response.body).message, message);
        assert.equal(rig.sns.published.length, 0);
      });
    }

    it("publishes after an SNS 500 is retried", async () => {
      rig.sns.failNext(1);
      assert.equal((await handleWebhook(fixture("alma-webhook/loan_created_event.json"), deps())).statusCode, 200);
      assert.equal(rig.sns.published.length, 1);
    });
  });
});
