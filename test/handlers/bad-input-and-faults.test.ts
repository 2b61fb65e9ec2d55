/**
 * Bad input and faults, table-driven, for every handler. Each bad input gets an error that
 * names the field, and the stores are unchanged afterwards (same item and message counts).
 * Each fault is injected by a local server that fails on purpose; the handler retries
 * within bounds and then either succeeds or throws, and a half-done write converges when
 * the event is retried.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { ALMA_TABLES, TOMBSTONES_TABLE } from "../../apps/alma/tables";
import { HDOC_USERS_TABLE } from "../../apps/hdoc/hdoc-backend";
import { createHandler } from "../../handlers/lessons/handler";
import type { AlmaCacheClients } from "../../handlers/alma/cache";
import { documentsOf } from "../../handlers/lib/dynamodb";
import { loanUpdated, requestUpdated } from "../../handlers/alma/cache-functions";
import { handleWebhook } from "../../handlers/alma/webhook";
import { ALMA_EVENTS } from "../../handlers/lib/env-names";
import { logger } from "../../handlers/lib/logger";
import { snsNotification, sqsEvent } from "../../scripts/events/wrap";
import { getUser, listUsers, USERNAME_MISSING, usersApi } from "../../handlers/hdoc/users";
import { queryOf, serve } from "../../handlers/lib/http-api";
import { Iota } from "../../handlers/iota/engine";
import type { Pool } from "mysql2/promise";
import { brnPool, runSync, type SkillSyncConfig, SyncFailedError } from "../../handlers/skills/sync";
import { type BrnDatabase, createBrnDatabase } from "../../tooling/local/mysql";
import { createRecord } from "../../handlers/iota/records";
import { localAwsEnv, localClientConfig, setEnv } from "../../tooling/local/aws";
import { type LocalDynamo, startDynalite } from "../../tooling/local/dynamo";
import { type FakeSns, startFakeSns } from "../../tooling/local/fake-sns";
import { type FakeSqs, startFakeSqs } from "../../tooling/local/fake-sqs";
import { type FaultProxy, startFaultProxy } from "../../tooling/local/fault-proxy";
import { FAST_RETRY, type HttpStub, type StubResponse, startStub } from "../../tooling/local/http-stub";
import { MemoryStore } from "../../tooling/local/iota-memory-store";
import { PAYLOADS_DIR } from "../helpers/fixtures";

const FIXTURES = PAYLOADS_DIR;
const fixture = (file: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, file), "utf8"));
const OVERSIZED = "x".repeat(300 * 1024);
const WEIRD_ID = 'ünï\'; DROP TABLE users;-- <script>alert(1)</script> ${x} {"$gt":""}';

interface BadInput {
  name: string;
  event: unknown;
  error: RegExp;
}

describe("bad input and faults", function () {
  this.timeout(60_000);
  let dynamo: LocalDynamo;
  let proxy: FaultProxy;
  let sqs: FakeSqs;
  let sns: FakeSns;
  let restoreEnv: () => void;

  before(async () => {
    dynamo = await startDynalite();
    proxy = await startFaultProxy(dynamo.endpoint);
    sqs = await startFakeSqs();
    sns = await startFakeSns();
    restoreEnv = setEnv(localAwsEnv({ AWS_ENDPOINT_URL_SQS: sqs.url }));
  });
  after(async () => {
    restoreEnv();
    await Promise.all([proxy.close(), dynamo.close(), sqs.close(), sns.close()]);
  });
  beforeEach(() => {
    proxy.inject({ kind: "throttle" }, 0);
    sqs.failNext(0);
    sns.failNext(0);
    sqs.messages.length = 0;
    sns.published.length = 0;
  });

  // -------------------------------------------------------------------------------------------
  describe("lesson-completed", () => {
    let api: HttpStub;
    let behaviour: () => StubResponse;
    before(async () => {
      api = await startStub((req) => (req.path === "/token" ? { body: { access_token: "t", expires_in: 3600 } } : behaviour()));
    });
    after(() => api.close());
    beforeEach(() => {
      api.requests.length = 0;
      behaviour = () => ({ status: 200 });
    });
    const handler = () =>
      createHandler({
        tokenUrl: `${api.url}/token`,
        audience: "aud",
        clientId: "id",
        clientSecret: async () => "secret",
        endpoint: `${api.url}/lp`,
        failedEventsQueueUrl: sqs.queueUrl("failed"),
        retry: FAST_RETRY,
      });
    const event = (detail: Record<string, unknown>) => ({ ...fixture("atlas-trigger/user_update_event.json"), detail });
    const detail = () => fixture("atlas-trigger/user_update_event.json").detail;

    const cases: BadInput[] = [
      { name: "empty event", event: {}, error: /invalid Atlas trigger event: detail-type: .*source: .*detail: / },
      {
        name: "SNS envelope where EventBridge is expected",
        event: { Records: [{ EventSource: "aws:sns", Sns: { Message: "{}" } }] },
        error: /detail-type/,
      },
      {
        name: "missing externalId",
        event: event({ ...detail(), fullDocument: { email: "a@b.c" } }),
        error: /detail\.fullDocument\.externalId/,
      },
      {
        name: "wrong type of updatedFields",
        event: event({ ...detail(), updateDescription: { updatedFields: "completedChallenges" } }),
        error: /detail\.updateDescription\.updatedFields/,
      },
      { name: "unknown operation type", event: event({ ...detail(), operationType: "drop" }), error: /detail\.operationType/ },
      { name: "oversized payload", event: event({ ...detail(), padding: OVERSIZED }), error: /is \d+ bytes; at most 262144/ },
    ];
    for (const c of cases) {
      it(`refuses ${c.name}, naming the field, and calls nothing`, async () => {
        await assert.rejects(handler()(c.event), c.error);
        assert.equal(api.requests.length, 0);
        assert.equal(sqs.messages.length, 0);
      });
    }

    it("passes unicode and injection-looking ids through verbatim", async () => {
      await handler()(
        event({
          ...detail(),
          fullDocument: { externalId: `auth0|${WEIRD_ID}`, email: "a@b.c" },
          updateDescription: { updatedFields: { "completedChallenges.0": { id: WEIRD_ID } } },
        }),
      );
      const [put] = api.to("PUT", "/lp");
      assert.equal(put.query.get("userId"), WEIRD_ID);
      assert.equal(put.query.get("lessonId"), WEIRD_ID);
    });

    for (const [name, fault] of [
      ["HTTP 500", { status: 500 }],
      ["HTTP 429", { status: 429 }],
      ["a slow answer", { status: 200, delayMs: 800 }],
      ["a dropped connection", { reset: true }],
    ] as [string, StubResponse][]) {
      it(`retries ${name} within bounds, then succeeds`, async () => {
        let calls = 0;
        behaviour = () => (++calls === 1 ? fault : { status: 200 });
        assert.equal((await handler()(fixture("atlas-trigger/user_update_event.json"))).completed, 1);
        assert.equal(calls, 2);
      });
    }

    it("skips a lesson whose id is of the wrong type, reporting it, and calls nothing for it", async () => {
      const result = await handler()(event({ ...detail(), updateDescription: { updatedFields: { "completedChallenges.1": { id: 42 } } } }));
      assert.deepEqual(result.skipped, [{ field: "completedChallenges.1", reason: "has no id that is a non-empty string" }]);
      assert.equal(api.requests.length, 0);
    });

    it("throws after its bounded retries when the API stays down, keeping nothing back", async () => {
      behaviour = () => ({ status: 503 });
      await assert.rejects(
        handler()(fixture("atlas-trigger/user_update_event.json")),
        /no lesson marked complete for user 88778750, so the event is retried whole: lesson 616d47bc9eedc4bc7f621bec failed after retries/,
      );
      assert.equal(api.to("PUT", "/lp").length, FAST_RETRY.retries + 1);
      assert.equal(sqs.messages.length, 0, "EventBridge's retry and DLQ keep the event, not the handler");
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("alma cache", () => {
    let clients: AlmaCacheClients;
    let run = 0;
    const counts = async () => ({
      users: (await dynamo.scan(clients.tables.users)).length,
      loans: (await dynamo.scan(clients.tables.loans)).length,
      requests: (await dynamo.scan(clients.tables.requests)).length,
      queued: sqs.messages.length,
    });
    const sns = (...messages: string[]) => ({ Records: messages.map((Message) => ({ EventSource: "aws:sns", Sns: { Message } })) });
    const loanBody = () => JSON.parse(fixture("alma-webhook/loan_created_event.json").body);

    beforeEach(async () => {
      run += 1;
      const tables = { users: `f-users-${run}`, loans: `f-loans-${run}`, requests: `f-requests-${run}`, tombstones: `f-tombstones-${run}` };
      for (const [key, schema] of Object.entries(ALMA_TABLES)) await dynamo.createTable(tables[key as keyof typeof ALMA_TABLES], schema);
      await dynamo.createTable(tables.tombstones, TOMBSTONES_TABLE);
      // Through the fault proxy, with the SDK's own retry settings.
      const client = new DynamoDBClient(localClientConfig(proxy.url));
      clients = {
        documents: documentsOf(client),
        sqs: new SQSClient(localClientConfig(sqs.url)),
        tables,
        usersQueueUrl: sqs.queueUrl("users"),
        now: () => Date.parse("2018-02-23T12:00:00Z"),
      };
      await dynamo.documents.send(new PutCommand({ TableName: tables.users, Item: { primary_id: "lbaajh", expiry_date: 2e9 } }));
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
      proxy.inject({ kind: "throttle" }, 3, /UpdateItem/);
      const event = sqsEvent([first, second]);
      assert.deepEqual(await loanUpdated(clients)(event), { batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }] });
      const user = async () =>
        (await dynamo.documents.send(new GetCommand({ TableName: clients.tables.users, Key: { primary_id: "lbaajh" } }))).Item;
      assert.deepEqual((await user())?.loan_ids, ["second"]);
      assert.deepEqual(await loanUpdated(clients)(sqsEvent([first])), { batchItemFailures: [] });
      assert.deepEqual((await user())?.loan_ids, ["second", "18263808770001221"]);
    });

    it("stores unicode and injection-looking ids verbatim", async () => {
      const b = loanBody();
      b.item_loan.loan_id = WEIRD_ID;
      await loanUpdated(clients)(sns(JSON.stringify(b)));
      const stored = await dynamo.documents.send(new GetCommand({ TableName: clients.tables.loans, Key: { loan_id: WEIRD_ID } }));
      assert.equal(stored.Item?.loan_id, WEIRD_ID);
      const user = await dynamo.documents.send(new GetCommand({ TableName: clients.tables.users, Key: { primary_id: "lbaajh" } }));
      assert.deepEqual(user.Item?.loan_ids, [WEIRD_ID]);
    });

    it("rides out DynamoDB throttling within the SDK's retries", async () => {
      const faulted = proxy.faulted;
      proxy.inject({ kind: "throttle" }, 2);
      assert.equal((await loanUpdated(clients)(sns(fixture("alma-webhook/loan_created_event.json").body))).linked, 1);
      assert.equal(proxy.faulted - faulted, 2);
      assert.deepEqual((await counts()).loans, 1);
    });

    it("throws when throttling outlasts the retries after a half-done write, and converges when the event is retried", async () => {
      const event = sns(fixture("alma-webhook/loan_created_event.json").body);
      // The loan is written; every attempt at the user's update is throttled.
      proxy.inject({ kind: "throttle" }, 10, /UpdateItem/);
      await assert.rejects(loanUpdated(clients)(event), /throughput/);
      const user = () => dynamo.documents.send(new GetCommand({ TableName: clients.tables.users, Key: { primary_id: "lbaajh" } }));
      assert.equal((await user()).Item?.loan_ids, undefined, "the user is not half-updated");
      assert.equal(sqs.messages.length, 0);
      proxy.inject({ kind: "throttle" }, 0);
      await loanUpdated(clients)(event);
      assert.deepEqual((await user()).Item?.loan_ids, ["18263808770001221"]);
      assert.equal((await dynamo.scan(clients.tables.loans)).length, 1, "the retried event leaves one loan");
    });

    it("retries a failing SQS send, and throws if SQS stays down so that the event is retried", async () => {
      await dynamo.documents.send(new PutCommand({ TableName: clients.tables.users, Item: { primary_id: "lbaajh", expiry_date: 1 } }));
      sqs.failNext(1);
      assert.equal((await loanUpdated(clients)(sns(fixture("alma-webhook/loan_created_event.json").body))).queued, 1);
      sqs.failNext(10);
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
      proxy.inject({ kind: "reset" }, 1);
      assert.equal((await loanUpdated(clients)(sns(fixture("alma-webhook/loan_created_event.json").body))).linked, 1);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("alma webhook", () => {
    const deps = () => ({
      sns: new SNSClient(localClientConfig(sns.url)),
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
        assert.equal(sns.published.length, 0);
      });
    }

    it("publishes after an SNS 500 is retried", async () => {
      sns.failNext(1);
      assert.equal((await handleWebhook(fixture("alma-webhook/loan_created_event.json"), deps())).statusCode, 200);
      assert.equal(sns.published.length, 1);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("hdoc", () => {
    const api = () => usersApi(new DynamoDBClient(localClientConfig(proxy.url)), "bad-input-users", { except: [] });
    before(async () => {
      await dynamo.createTable("bad-input-users", HDOC_USERS_TABLE);
      await dynamo.documents.send(new PutCommand({ TableName: "bad-input-users", Item: { github_username: WEIRD_ID, day: 3 } }));
    });
    const call = (route: typeof getUser, event: unknown) =>
      serve(() => route(api(), queryOf(event))).then((r) => ({
        status: r.statusCode,
        body: r.headers["content-type"] === "application/json" ? JSON.parse(r.body) : r.body,
      }));
    // get_user_by_id answered 404 with this text for a missing username, as we do; the rest are 400s naming the field.
    const cases: [string, typeof getUser, unknown, number, RegExp][] = [
      ["empty event", getUser, {}, 404, new RegExp(USERNAME_MISSING)],
      ["an SNS envelope", listUsers, { Records: [] }, 200, /.*/],
      ["a wrong type for username", getUser, { queryStringParameters: { username: ["a"] } }, 404, new RegExp(USERNAME_MISSING)],
      ["a wrong type for limit", listUsers, { queryStringParameters: { limit: 5 } }, 400, /limit/],
      ["a limit that is not a number", listUsers, { queryStringParameters: { limit: "1; DROP" } }, 400, /limit/],
      ["a forged cursor", listUsers, { queryStringParameters: { cursor: Buffer.from('{"$gt":""}').toString("base64url") } }, 400, /cursor/],
      ["an oversized cursor", listUsers, { queryStringParameters: { cursor: OVERSIZED } }, 400, /cursor/],
    ];
    for (const [name, route, event, status, message] of cases) {
      it(`answers ${status} to ${name}`, async () => {
        const { status: got, body } = await call(route, event);
        assert.equal(got, status);
        if (status !== 200) assert.match(typeof body === "string" ? body : body.message, message);
      });
    }

    it("reads unicode and injection-looking names verbatim", async () => {
      assert.deepEqual((await call(getUser, { queryStringParameters: { username: WEIRD_ID } })).body, {
        github_username: WEIRD_ID,
        day: 3,
      });
    });

    it("answers after throttling, and 500 without details once the retries run out", async () => {
      proxy.inject({ kind: "throttle" }, 1);
      assert.equal((await call(getUser, { queryStringParameters: { username: WEIRD_ID } })).status, 200);
      proxy.inject({ kind: "throttle" }, 10);
      assert.deepEqual(await call(getUser, { queryStringParameters: { username: WEIRD_ID } }), {
        status: 500,
        body: { message: "internal error" },
      });
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("skill-sync (its input is what the upstream services answer)", () => {
    let upstream: HttpStub;
    let airtable: () => StubResponse;
    let skills: SkillSyncConfig;
    let db: BrnDatabase;
    let pool: Pool;
    before(async () => {
      db = await createBrnDatabase("tributary_faults_test");
      pool = brnPool(db.url);
      upstream = await startStub((req) => {
        if (req.path.startsWith("/v0/")) return airtable();
        if (req.path === "/badgr/o/token/") return { body: { access_token: "b" } };
        if (req.path.endsWith("/badgeclasses")) return { body: { result: [{ entityId: "B1", name: "Badge" }] } };
        if (req.path.endsWith("/assertions")) return { body: { result: [] } };
        return { status: 404 };
      });
    });
    after(async () => {
      await upstream.close();
      await pool.end();
      await db.drop();
    });
    beforeEach(async () => {
      for (const table of ["assertions", "badges", "assessments"]) await db.query(`DELETE FROM \`${table}\``);
      airtable = () => ({ body: { records: [{ id: "rec1", fields: { id: 1, name: "A" } }] } });
      skills = {
        db: async () => pool,
        bucket: "unused",
        airtable: { apiUrl: `${upstream.url}/v0`, baseId: "appB", table: "assessments", maxPages: 10 },
        badgr: { baseUrl: `${upstream.url}/badgr`, issuerId: "I", scope: "s", grantType: "password", maxPages: 10 },
        github: { apiUrl: `${upstream.url}/github`, org: "o" },
        templates: { maxBytes: 1024, maxEntries: 10 },
        secret: async (name) => (name === "GITHUB_TOKEN" ? undefined : "x"),
        // No assessment has a template, so S3 is only listed: an empty answer.
        s3: { send: async () => ({ Contents: [] }) } as never,
        retry: FAST_RETRY,
      };
    });
    const assessments = () => db.query("SELECT * FROM assessments");

    const badUpstream: [string, () => StubResponse, RegExp][] = [
      ["an answer that is not JSON", () => ({ body: "<html>maintenance</html>" }), /JSON/],
      ["a page without records", () => ({ body: { data: [] } }), /without records/],
      [
        "records of the wrong type",
        () => ({
          body: {
            records: [
              { id: "r", fields: { id: ["a"] } },
              { id: "q", fields: "x" },
            ],
          },
        }),
        /fields\.id must be an integer/,
      ],
      [
        "a field that is a list of objects",
        () => ({ body: { records: [{ id: "r", fields: { id: 1, languages: [{ a: 1 }] } }] } }),
        /fields\.languages is a list of objects/,
      ],
    ];
    for (const [name, answer, error] of badUpstream) {
      it(`reports ${name} from Airtable as a failed source, writes no assessment, and still syncs Badgr`, async () => {
        airtable = answer;
        await assert.rejects(runSync(skills), (err: unknown) => {
          assert.ok(err instanceof SyncFailedError);
          assert.match(err.summary.assessments.errors.join(" "), error);
          assert.equal(err.summary.badges.created, 1);
          return true;
        });
        assert.equal((await assessments()).length, 0);
      });
    }

    for (const [name, fault] of [
      ["HTTP 500", { status: 500 }],
      ["HTTP 429", { status: 429 }],
      ["a slow answer", { status: 200, delayMs: 800, body: { records: [{ id: "rec1", fields: { id: 1 } }] } }],
      ["a dropped connection", { reset: true }],
    ] as [string, StubResponse][]) {
      it(`retries ${name} from Airtable within bounds, then syncs`, async () => {
        let calls = 0;
        airtable = () => (++calls === 1 ? fault : { body: { records: [{ id: "rec1", fields: { id: 1 } }] } });
        await runSync(skills);
        assert.equal((await assessments()).length, 1);
      });
    }

    it("fails every database source, naming the reason, when the database cannot be reached", async () => {
      const unreachable = brnPool("mysql://root@127.0.0.1:1/none");
      skills.db = async () => unreachable;
      await assert.rejects(runSync(skills), (err: unknown) => {
        assert.ok(err instanceof SyncFailedError);
        assert.match(err.summary.assessments.errors[0], /ECONNREFUSED/);
        assert.match(err.summary.badges.errors[0], /ECONNREFUSED/);
        return true;
      });
      await unreachable.end();
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("iota-records", () => {
    let store: MemoryStore;
    let sent: number;
    const engine = () =>
      new Iota({
        serviceId: "records.test",
        eventBusName: "bus",
        store,
        emitBackoffMs: () => 1,
        putEvents: async (entries) => {
          sent += entries.length;
          return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) };
        },
      });
    beforeEach(() => {
      store = new MemoryStore();
      sent = 0;
    });
    const command = (data: unknown, extra: Record<string, unknown> = {}) => ({
      id: "c1",
      source: "web",
      type: "cmd.record.create.v0",
      datacontenttype: "application/json",
      data: JSON.stringify(data),
      ...extra,
    });
    const cases: BadInput[] = [
      { name: "empty event", event: {}, error: /event\.id must be a non-empty string/ },
      { name: "SNS envelope", event: { Records: [{ Sns: { Message: "{}" } }] }, error: /event\.id/ },
      { name: "missing companyId", event: command({ name: "n" }), error: /companyId/ },
      { name: "wrong type of name", event: command({ companyId: "c", name: 7 }), error: /name/ },
      { name: "data that is not JSON", event: { ...command({}), data: "{not json" }, error: /not JSON/ },
      { name: "a non-string type", event: command({ companyId: "c", name: "n" }, { type: 5 }), error: /event\.type/ },
      { name: "oversized payload", event: command({ companyId: "c", name: OVERSIZED }), error: /bytes; at most 262144/ },
    ];
    for (const c of cases) {
      it(`refuses ${c.name} with a clear error and applies nothing`, async () => {
        await assert.rejects(engine().withIota(c.event, {}, { func: createRecord }), c.error);
        assert.equal(store.commits, 0);
        assert.equal(store.collection("records").size, 0);
        assert.equal(sent, 0);
      });
    }

    it("stores unicode and injection-looking values verbatim", async () => {
      store.collection("companies").set(WEIRD_ID, { id: WEIRD_ID, recordCount: 0 });
      await engine().withIota(command({ companyId: WEIRD_ID, name: WEIRD_ID }), {}, { func: createRecord });
      assert.equal([...store.collection("records").values()][0].name, WEIRD_ID);
      assert.equal(store.collection("companies").get(WEIRD_ID)?.recordCount, 1);
    });
  });
});
