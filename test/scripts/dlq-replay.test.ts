/**
 * `npm run dlq`, end to end against the local stand-ins: events are parked the way AWS parks
 * them (SQS's redrive after 5 receives, Lambda's on-failure records after its retries, the
 * handlers' own records, EventBridge's and Scheduler's dead-letter messages), the command
 * replays them through the Lambda stand-in (tooling/local/lambda.ts), and the stores must
 * then hold what a run without faults holds.
 *
 * - alma: the four cache functions' real bundles, fed through in-memory queues with SQS's
 *   semantics (test/helpers/queue-rig.ts) while a fault proxy in front of dynalite fails
 *   DynamoDB (an outage, then throttling); what SQS parked moves to the fake SQS's
 *   alma-failed-events with its DeadLetterQueueSourceArn. After the replay, the four tables
 *   equal those of a fault-free run of the same deliveries.
 * - lessons: lesson-completed's real bundle, invoked asynchronously, with the Learning Paths
 *   stand-in failing: a resumable record, Lambda's on-failure record, EventBridge's dead
 *   letter and a record of refused lessons. After the replay, every lesson was accepted once.
 * - iota: its bundle needs MongoDB, which this machine lacks; the stand-in runs the same
 *   engine and service function with the in-memory store instead. An event whose commit
 *   succeeded but whose PutEvents failed is parked by Lambda; its replay sends only the
 *   unsent event, and applies nothing twice.
 * - skills: one successful replayed sync stands for every failed run before it.
 * - the users DLQ goes back to the users queue; and bad input (an unknown queue, a body that
 *   is not a record, a function that no longer exists) is refused with its reason, the
 *   message left in its queue.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { CACHE_BATCH_SIZE, CACHE_FUNCTIONS, CACHE_QUEUE_MAX_RECEIVES } from "../../apps/alma/alma-cache";
import { ALMA_TABLES, TOMBSTONES_TABLE } from "../../apps/alma/tables";
import type { AlmaCacheClients } from "../../handlers/alma/cache";
import { documentsOf } from "../../handlers/lib/dynamodb";
import { SqsSender } from "../../handlers/lib/sqs-send";
import { loanReturned, loanUpdated, requestClosed, requestUpdated } from "../../handlers/alma/cache-functions";
import { CLOUDEVENT_DETAIL_TYPE } from "../../handlers/iota/cloudevents";
import { Iota, type PutEventsResult, sortKeys } from "../../handlers/iota/engine";
import { createRecord } from "../../handlers/iota/records";
import { RESUME_KIND } from "../../handlers/lessons/resume-record";
import { ALMA_ENV, type AlmaEvent, LESSONS_ENV } from "../../handlers/lib/env-names";
import { main } from "../../scripts/dlq";
import { Clients, visitMessages } from "../../scripts/dlq/run";
import { eventBridgeEvent, snsNotification } from "../../scripts/events/wrap";
import { auth0TokenRoute } from "../../tooling/local/auth0";
import { localAwsEnv, localClientConfig, setEnv } from "../../tooling/local/aws";
import { type LocalDynamo, startDynalite } from "../../tooling/local/dynamo";
import { type FakeSqs, startFakeSqs } from "../../tooling/local/fake-sqs";
import { type FaultProxy, startFaultProxy } from "../../tooling/local/fault-proxy";
import { type HttpStub, startStub } from "../../tooling/local/http-stub";
import { MemoryStore } from "../../tooling/local/iota-memory-store";
import { functionArn, type LocalLambda, startLocalLambda } from "../../tooling/local/lambda";
import { almaLoanBody, almaRequestBody, payloadPath } from "../helpers/fixtures";
import { type BatchHandler, EventSourceMapping, MemoryQueue } from "../helpers/queue-rig";
import { runScript } from "../helpers/run-script";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(2);
  }
}

/** The command, in this process, its output collected. */
async function dlq(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => void out.push(l), err: (l) => void err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dlq-test-"));
function outputsFile(name: string, deadLetterQueues: unknown[]): string {
  const file = path.join(tmp, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ stage: "test", deadLetterQueues }));
  return file;
}

describe("npm run dlq: parked events replayed against the local stand-ins", function () {
  this.timeout(120_000);
  let dynamo: LocalDynamo;
  let proxy: FaultProxy;
  let sqs: FakeSqs;
  let lambda: LocalLambda;
  let restoreEnv: () => void;

  before(async () => {
    dynamo = await startDynalite();
    proxy = await startFaultProxy(dynamo.endpoint);
    sqs = await startFakeSqs();
    lambda = await startLocalLambda({ sqsEndpoint: sqs.url });
    // One attempt per SDK request: an injected fault fails the record at once (SQS then hands it out again).
    restoreEnv = setEnv(
      localAwsEnv({
        AWS_ENDPOINT_URL_SQS: sqs.url,
        AWS_ENDPOINT_URL_LAMBDA: lambda.url,
        AWS_ENDPOINT_URL_DYNAMODB: proxy.url,
        AWS_MAX_ATTEMPTS: "1",
      }),
    );
  });
  after(async () => {
    await lambda.close();
    restoreEnv();
    await Promise.all([proxy.close(), sqs.close()]);
    await dynamo.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  // -------------------------------------------------------------------------------------------
  describe("alma: DynamoDB faults park deliveries; the replay makes the tables equal a fault-free run's", () => {
    const FUNCTION_OF = Object.fromEntries(CACHE_FUNCTIONS.flatMap((f) => f.topics.map((topic) => [topic, f.handler]))) as Record<
      AlmaEvent,
      string
    >;
    const topicArnOf = (event: AlmaEvent) => `arn:aws:sns:eu-west-2:000000000000:alma-${event}`;
    const T0 = (Math.floor(Date.now() / 86_400_000) - 2) * 86_400_000 + 8 * 3_600_000;
    const USERS = Array.from({ length: 12 }, (_, i) => `U${i}`);
    /** When the cached users expire: the same in both runs. */
    const USERS_EXPIRY = Math.floor(Date.now() / 1000) + 86_400;

    interface Delivery {
      event: AlmaEvent;
      message: string;
    }

    function loan(event: AlmaEvent, user: string, id: string, timeMs: number, dueDays: number): Delivery {
      return { event, message: almaLoanBody(event, user, id, timeMs, dueDays) };
    }

    function request(event: AlmaEvent, user: string, id: string, timeMs: number): Delivery {
      return { event, message: almaRequestBody(event, user, id, timeMs) };
    }

    /** Every user's two loans and a request, each through its lifecycle, interleaved on one clock: three phases of deliveries. */
    function history(random: () => number): Delivery[][] {
      const lifecycles: ((t: number) => Delivery)[][] = [];
      for (const user of USERS) {
        for (let l = 0; l < 2; l++) {
          const id = `loan-${user}-${l}`.toLowerCase();
          const steps = [(t: number) => loan("LOAN_CREATED", user, id, t, 14)];
          if (random() < 0.7) steps.push((t) => loan(random() < 0.5 ? "LOAN_RENEWED" : "LOAN_DUE_DATE", user, id, t, 28));
          if (random() < 0.5) steps.push((t) => loan("LOAN_RETURNED", user, id, t, 14));
          lifecycles.push(steps);
        }
        const id = `request-${user}`.toLowerCase();
        const steps = [(t: number) => request("REQUEST_CREATED", user, id, t)];
        if (random() < 0.6) steps.push((t) => request("REQUEST_PLACED_ON_SHELF", user, id, t));
        if (random() < 0.5) steps.push((t) => request(random() < 0.5 ? "REQUEST_CLOSED" : "REQUEST_CANCELED", user, id, t));
        lifecycles.push(steps);
      }
      const timeline: Delivery[] = [];
      const open = lifecycles.map((steps) => ({ steps, next: 0 }));
      for (let tick = 0; open.length > 0; tick++) {
        const pick = Math.floor(random() * open.length);
        timeline.push(open[pick].steps[open[pick].next](T0 + tick * 60_000));
        open[pick].next += 1;
        if (open[pick].next === open[pick].steps.length) open.splice(pick, 1);
      }
      const cut = [0, 0.35, 0.7, 1].map((f) => Math.round(f * timeline.length));
      return [0, 1, 2].map((p) => timeline.slice(cut[p], cut[p + 1]));
    }

    const names = (run: string) => ({
      users: `${run}-users`,
      loans: `${run}-loans`,
      requests: `${run}-requests`,
      tombstones: `${run}-tombstones`,
    });

    async function tablesFor(run: string) {
      const tables = names(run);
      for (const [key, schema] of Object.entries(ALMA_TABLES)) await dynamo.createTable(tables[key as keyof typeof ALMA_TABLES], schema);
      await dynamo.createTable(tables.tombstones, TOMBSTONES_TABLE);
      for (const user of USERS) {
        await dynamo.documents.send(
          new PutCommand({
            TableName: tables.users,
            Item: { primary_id: user.toLowerCase(), loan_ids: [], request_ids: [], fee_ids: [], expiry_date: USERS_EXPIRY },
          }),
        );
      }
      return tables;
    }

    /** The tables as a replay must leave them: lists as sets, and without the times that depend on when a write ran (TTLs). */
    async function snapshot(run: string): Promise<Record<string, string[]>> {
      const tables = names(run);
      const lines = async (table: string, clean: (item: Record<string, any>) => Record<string, any>) =>
        (await dynamo.scan(table)).map((item) => JSON.stringify(sortKeys(clean(item)))).sort();
      return {
        users: await lines(tables.users, (u) => ({ ...u, loan_ids: [...u.loan_ids].sort(), request_ids: [...u.request_ids].sort() })),
        loans: await lines(tables.loans, (l) => l),
        requests: await lines(tables.requests, ({ record_expiry_date: _ttl, ...r }) => r),
        tombstones: await lines(tables.tombstones, ({ expires_at: _ttl, ...t }) => t),
      };
    }

    function differences(faulty: Record<string, string[]>, free: Record<string, string[]>): string[] {
      const out: string[] = [];
      for (const table of Object.keys(free)) {
        for (const line of faulty[table]) if (!free[table].includes(line)) out.push(`${table}: only after faults: ${line}`);
        for (const line of free[table]) if (!faulty[table].includes(line)) out.push(`${table}: missing after faults: ${line}`);
      }
      return out;
    }

    /** The four queues, each read by its function through an event source mapping. */
    function rig(handlers: Record<string, BatchHandler>, random: () => number) {
      return Object.fromEntries(
        CACHE_FUNCTIONS.map((f) => [
          f.handler,
          new EventSourceMapping(
            new MemoryQueue(`${f.handler}-queue`, { maxReceiveCount: CACHE_QUEUE_MAX_RECEIVES, visibilityMs: 10, random }),
            handlers[f.handler],
            {
              batchSize: CACHE_BATCH_SIZE,
              maximumConcurrency: 3,
            },
          ),
        ]),
      );
    }

    async function deliver(mappings: Record<string, EventSourceMapping>, deliveries: Delivery[]): Promise<void> {
      for (const d of deliveries)
        mappings[FUNCTION_OF[d.event]].queue.send(JSON.stringify(snsNotification(d.message, topicArnOf(d.event))));
      await until(() => Object.values(mappings).every((m) => m.queue.depth === 0), "every queue is empty");
    }

    it("replays what SQS and SNS parked, and the tables end as a run without faults leaves them", async () => {
      const random = mulberry32(20261202);
      const phases = history(random);
      // SNS delivers at least once: a few of the outage's deliveries twice.
      phases[1] = phases[1].flatMap((d) => (random() < 0.15 ? [d, d] : [d]));
      // One delivery SNS could not make at all: the subscription's redrive policy parks it.
      const undelivered = phases[2].splice(Math.floor(phases[2].length / 2), 1)[0];
      const deliveries = phases.flat().length + 1;

      // Without faults: the handlers' source, in this process, straight to dynalite.
      const free = await tablesFor("free");
      const freeClients: AlmaCacheClients = {
        documents: documentsOf(localClientConfig(dynamo.endpoint)),
        sqs: new SqsSender(localClientConfig(sqs.url)),
        tables: free,
        usersQueueUrl: sqs.queueUrl("alma-users"),
        now: Date.now,
      };
      const freeRig = rig(
        {
          "alma-loan-updated": loanUpdated(freeClients),
          "alma-loan-returned": loanReturned(freeClients),
          "alma-request-updated": requestUpdated(freeClients),
          "alma-request-closed": requestClosed(freeClients),
        },
        random,
      );
      for (const m of Object.values(freeRig)) m.setEnabled(true);
      for (const phase of phases) await deliver(freeRig, phase);
      await deliver(freeRig, [undelivered]);
      for (const m of Object.values(freeRig)) await m.stop();
      assert.deepEqual(
        Object.values(freeRig).map((m) => m.queue.deadLetters.length),
        [0, 0, 0, 0],
        "nothing parks without faults",
      );

      // With faults: the functions' bundles, invoked through the Lambda stand-in, DynamoDB behind the fault proxy.
      const faulty = await tablesFor("faulty");
      const environment = {
        [ALMA_ENV.usersTable]: faulty.users,
        [ALMA_ENV.loansTable]: faulty.loans,
        [ALMA_ENV.requestsTable]: faulty.requests,
        [ALMA_ENV.tombstonesTable]: faulty.tombstones,
        [ALMA_ENV.usersQueueUrl]: sqs.queueUrl("alma-users"),
      };
      for (const f of CACHE_FUNCTIONS) lambda.add(f.handler, { handler: f.handler, environment });
      const viaLambda =
        (name: string): BatchHandler =>
        async (event) => {
          const { result, error } = await lambda.invoke(name, event);
          if (error) throw new Error(error.errorMessage);
          return result as { batchItemFailures: { itemIdentifier: string }[] };
        };
      const faultyRig = rig(Object.fromEntries(CACHE_FUNCTIONS.map((f) => [f.handler, viaLambda(f.handler)])), random);
      for (const m of Object.values(faultyRig)) m.setEnabled(true);
      await deliver(faultyRig, phases[0]);
      // An outage: every DynamoDB request fails while the second phase arrives.
      proxy.inject(
        {
          kind: "status",
          status: 500,
          body: JSON.stringify({ __type: "com.amazon.coral.availability#ServiceUnavailableException", message: "injected outage" }),
        },
        1_000_000,
      );
      await deliver(faultyRig, phases[1]);
      // Then throttling, on and off, while the last phase arrives.
      proxy.inject({ kind: "throttle" }, 30);
      await deliver(faultyRig, phases[2]);
      proxy.inject({ kind: "throttle" }, 0);
      for (const m of Object.values(faultyRig)) await m.stop();

      // What SQS moved after 5 receives keeps its id and body, with the queue it came from.
      const parkedBySqs = Object.values(faultyRig).flatMap((m) => m.queue.deadLetters.map((d) => ({ d, arn: m.queue.arn })));
      for (const { d, arn } of parkedBySqs) sqs.moveIn("alma-failed-events", { messageId: d.messageId, body: d.body, sourceArn: arn });
      sqs.put("alma-failed-events", { body: JSON.stringify(snsNotification(undelivered.message, topicArnOf(undelivered.event))) });
      const before = differences(await snapshot("faulty"), await snapshot("free"));
      assert.ok(parkedBySqs.length >= phases[1].length, `the outage parked its deliveries (${parkedBySqs.length} parked)`);
      assert.ok(before.length > 0, "the parked events are missing from the tables before the replay");

      const outputs = outputsFile("alma", [
        {
          app: "alma",
          name: "alma-failed-events",
          url: sqs.queueUrl("alma-failed-events"),
          arn: sqs.queueArn("alma-failed-events"),
          sources: CACHE_FUNCTIONS.flatMap((f) => [
            { arn: faultyRig[f.handler].queue.arn, functionName: f.handler },
            ...f.topics.map((t) => ({ arn: topicArnOf(t), functionName: f.handler })),
          ]),
        },
        {
          app: "alma",
          name: "alma-users-dlq",
          url: sqs.createQueue("alma-users-dlq"),
          arn: sqs.queueArn("alma-users-dlq"),
          sendBackTo: { url: sqs.queueUrl("alma-users"), arn: sqs.queueArn("alma-users") },
        },
      ]);

      const listed = await dlq("list", "--outputs", outputs, "--app", "alma", "--json");
      assert.equal(listed.code, 0, listed.err);
      const [failedEvents] = JSON.parse(listed.out) as { messages: { format: string; target: string; keys: Record<string, string> }[] }[];
      assert.equal(failedEvents.messages.length, parkedBySqs.length + 1);
      assert.deepEqual([...new Set(failedEvents.messages.map((m) => m.format))].sort(), ["sns-undelivered", "sqs-redrive"]);
      assert.ok(
        failedEvents.messages.every((m) => (m.keys.loan ?? m.keys.request) && m.keys.user && m.keys.event),
        "each shows its loan or request, user and event",
      );

      const replayed = await dlq("replay", "--outputs", outputs, "--app", "alma");
      assert.equal(replayed.code, 0, replayed.out + replayed.err);
      const after = differences(await snapshot("faulty"), await snapshot("free"));
      console.log(
        `      alma: ${deliveries} deliveries, ${parkedBySqs.length + 1} parked (${parkedBySqs.length} by SQS after ${CACHE_QUEUE_MAX_RECEIVES} receives, 1 undelivered by SNS), ${proxy.faulted} DynamoDB requests faulted; ` +
          `differences from the fault-free run: ${before.length} before the replay, ${after.length} after`,
      );
      assert.deepEqual(after, []);
      assert.equal(sqs.held("alma-failed-events").length, 0, "every replayed message is deleted");

      // Replayed again, as if every deletion had failed: nothing changes.
      for (const { d, arn } of parkedBySqs) sqs.moveIn("alma-failed-events", { body: d.body, sourceArn: arn });
      const again = await dlq("replay", "--outputs", outputs, "--app", "alma");
      assert.equal(again.code, 0, again.out);
      assert.match(again.out, new RegExp(`${parkedBySqs.length} replayed, 0 covered by a reconciling run, 0 failed`));
      assert.deepEqual(differences(await snapshot("faulty"), await snapshot("free")), [], "a second replay changes nothing");
    });

    it("sends the users DLQ's messages back to the users queue, and deletes them only then", async () => {
      const outputs = outputsFile("alma-users", [
        {
          app: "alma",
          name: "alma-users-dlq",
          url: sqs.createQueue("users-dlq-2"),
          arn: sqs.queueArn("users-dlq-2"),
          sendBackTo: { url: sqs.queueUrl("users-2"), arn: sqs.queueArn("users-2") },
        },
      ]);
      for (const user of ["abc123", "def456"]) sqs.moveIn("users-dlq-2", { body: user, sourceArn: sqs.queueArn("users-2") });
      const dry = await dlq("replay", "--outputs", outputs, "--dry-run");
      assert.equal(dry.code, 0);
      assert.equal(sqs.held("users-dlq-2").length, 2, "a dry run changes nothing");
      assert.match(dry.out, /would replay .* user=abc123: sent back to .*users-2/);
      assert.match(dry.out, /dry run: 2 would be replayed, 0 covered by a reconciling run, 0 failed/);
      const { code, out } = await dlq("replay", "--outputs", outputs);
      assert.equal(code, 0, out);
      assert.deepEqual(
        sqs
          .held("users-2")
          .map((m) => m.body)
          .sort(),
        ["abc123", "def456"],
      );
      assert.equal(sqs.held("users-dlq-2").length, 0);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("lessons: the Learning Paths API fails; the replay sends every lesson once", () => {
    const LESSON_PATH = "/v5/learning-paths/certification-progresses/complete-lesson-via-mongo-trigger";
    const AUDIENCE = "https://m2m.topcoder-dev.com/";
    let api: HttpStub;
    const down = new Set<string>();
    const refused = new Set<string>();
    const accepted = new Map<string, number>();

    before(async () => {
      const token = auth0TokenRoute({ clients: { "m2m-client": "secret" }, audiences: [AUDIENCE] });
      api = await startStub((req) => {
        if (req.method === "POST" && req.path === "/oauth/token") return token(req);
        if (req.method !== "PUT" || req.path !== LESSON_PATH) return { status: 404 };
        const lesson = req.query.get("lessonId") ?? "";
        // Down for longer than a lesson waits: the lesson fails at once.
        if (down.has(lesson)) return { status: 503, headers: { "retry-after": "3600" }, body: { message: "down" } };
        if (refused.has(lesson)) return { status: 404, body: { message: "no such lesson" } };
        const key = `${req.query.get("userId")}/${lesson}`;
        accepted.set(key, (accepted.get(key) ?? 0) + 1);
        return { status: 200, body: { ok: true } };
      });
      lambda.add("lessons-lesson-completed", {
        handler: "lesson-completed",
        environment: {
          [LESSONS_ENV.auth0Url]: `${api.url}/oauth/token`,
          [LESSONS_ENV.auth0Audience]: AUDIENCE,
          [LESSONS_ENV.auth0ClientId]: "m2m-client",
          [LESSONS_ENV.auth0ClientSecret]: "secret",
          [LESSONS_ENV.learningPathsApiEndpoint]: `${api.url}${LESSON_PATH}`,
          [LESSONS_ENV.failedEventsQueueUrl]: sqs.createQueue("lessons-failed-events"),
        },
        async: { maximumRetryAttempts: 2, onFailureQueueUrl: sqs.queueUrl("lessons-failed-events") },
      });
    });
    after(() => api.close());

    /** The captured Atlas trigger event, for another user and other lessons. */
    function update(user: string, lessons: string[]) {
      const event = JSON.parse(fs.readFileSync(payloadPath("atlas-trigger", "user_update_event.json"), "utf8"));
      event.detail.fullDocument = { email: `${user}@example.com`, externalId: `auth0|${user}`, username: user };
      event.detail.updateDescription.updatedFields = Object.fromEntries(
        lessons.map((id, i) => [`completedChallenges.${i}`, { id, completedDate: 1661901841601 }]),
      );
      return event;
    }

    it("parks a resumable record, Lambda's record, EventBridge's dead letter and a refusal; the replay sends each lesson once", async () => {
      const outputs = outputsFile("lessons", [
        {
          app: "lessons",
          name: "lessons-failed-events",
          url: sqs.queueUrl("lessons-failed-events"),
          arn: sqs.queueArn("lessons-failed-events"),
          functionName: "lessons-lesson-completed",
        },
      ]);
      down.add("a2").add("b1");
      refused.add("d2");
      // a1 is accepted, then a2 fails: a2 and a3 are kept as a resumable record.
      await lambda.invoke("lessons-lesson-completed", update("1001", ["a1", "a2", "a3"]), "Event");
      // b1 fails first: nothing was sent, so the event fails each of Lambda's attempts, then its invocation record is kept.
      await lambda.invoke("lessons-lesson-completed", update("1002", ["b1", "b2"]), "Event");
      // d2 is refused for good: kept for a person, with d1 accepted.
      await lambda.invoke("lessons-lesson-completed", update("1004", ["d1", "d2"]), "Event");
      await lambda.idle();
      // EventBridge could not invoke the function at all for this one.
      sqs.put("lessons-failed-events", {
        body: JSON.stringify(update("1003", ["c1"])),
        messageAttributes: {
          RULE_ARN: "arn:aws:events:eu-west-2:000000000000:rule/aws.partner/mongodb.com/stitch.trigger/x/lessons-rule",
          TARGET_ARN: functionArn("lessons-lesson-completed"),
          ERROR_CODE: "SDK_CLIENT_ERROR",
          ERROR_MESSAGE: "Unable to invoke Lambda function: Rate Exceeded.",
          EXHAUSTED_RETRY_CONDITION: "MaximumRetryAttempts",
          RETRY_ATTEMPTS: "2",
        },
      });
      assert.deepEqual([...accepted.keys()].sort(), ["1001/a1", "1004/d1"]);

      const listed = await dlq("list", "--outputs", outputs, "--json");
      assert.equal(listed.code, 0, listed.err);
      const messages = (
        JSON.parse(listed.out)[0].messages as { format: string; keys: Record<string, string>; replay: { action: string } }[]
      ).map((m) => [m.format, m.keys.user, m.keys.lessons, m.replay.action]);
      assert.deepEqual(messages.sort(), [
        ["eventbridge-dlq", "1003", "c1", "invoke"],
        ["lambda-on-failure", "1002", "b1,b2", "invoke"],
        ["lessons-resume", "1001", "a2,a3", "invoke"],
        ["lessons-resume", "1004", "", "keep"],
      ]);
      assert.match(listed.out, /"email": "1\*\*\*@example\.com"/);
      assert.ok(!/\d{4}@example\.com/.test(listed.out), "e-mail addresses are masked");

      // a2 and b1 are still down: their records fail again and stay; c1's goes through.
      const partly = await dlq("replay", "--outputs", outputs);
      assert.equal(partly.code, 1);
      assert.match(partly.out, /1 replayed, 0 covered by a reconciling run, 2 failed, 0 unreadable, 1 kept for a person/);
      assert.match(
        partly.out,
        /FAILED .*lessons-lesson-completed failed \(Unhandled\): Error: no lesson marked complete for user 100[12].*; it stays in the queue/,
      );
      assert.equal(sqs.held("lessons-failed-events").length, 3);

      down.clear();
      const first = await dlq("replay", "--outputs", outputs);
      assert.equal(first.code, 0, first.out + first.err);
      assert.match(first.out, /2 replayed, 0 covered by a reconciling run, 0 failed, 0 unreadable, 1 kept for a person/);
      assert.match(first.out, /kept .*: nothing to resend: the Learning Paths API refused d2 \(HTTP 404\)/);
      // The refusal's cause is fixed: only d2 is sent again.
      refused.clear();
      const second = await dlq("replay", "--outputs", outputs, "--resend-refused");
      assert.equal(second.code, 0, second.out + second.err);

      const lessons = ["1001/a1", "1001/a2", "1001/a3", "1002/b1", "1002/b2", "1003/c1", "1004/d1", "1004/d2"];
      console.log(
        `      lessons: 4 records parked (resumable, on-failure, EventBridge, refused), ${lessons.length} lessons, each accepted ${[...new Set(accepted.values())].join("/")} time(s)`,
      );
      assert.deepEqual(Object.fromEntries([...accepted].sort()), Object.fromEntries(lessons.map((l) => [l, 1])));
      assert.equal(sqs.held("lessons-failed-events").length, 0);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("iota: a committed event whose PutEvents failed goes out on replay, applied once", () => {
    it("replays Lambda's record: only the unsent event is sent, and no mutation is applied again", async () => {
      const store = new MemoryStore();
      store.collection("companies").set("c1", { id: "c1", recordCount: 0 });
      let putEventsDown = true;
      const sent: string[] = [];
      const iota = new Iota({
        serviceId: "records.tributary",
        eventBusName: "iota-bus",
        store,
        emitRetries: 0,
        putEvents: async (entries): Promise<PutEventsResult> => {
          if (putEventsDown)
            return {
              FailedEntryCount: entries.length,
              Entries: entries.map(() => ({ ErrorCode: "InternalFailure", ErrorMessage: "injected" })),
            };
          for (const e of entries) sent.push(JSON.parse(e.Detail!).type);
          return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `ev-${sent.length}-${i}` })) };
        },
      });
      // The bundle connects to MongoDB, which this machine lacks: the same engine and function with the in-memory store.
      lambda.add("iota-records-fn", {
        run: (event, context) => iota.withIota(event, context, { func: createRecord }),
        async: { maximumRetryAttempts: 2, onFailureQueueUrl: sqs.createQueue("iota-records-failed-events") },
      });
      const command = {
        specversion: "1.0",
        id: "cmd-1",
        source: "tests",
        type: "cmd.record.create.v0",
        time: new Date().toISOString(),
        data: { companyId: "c1", name: "first" },
      };
      const event = eventBridgeEvent(command, { source: "tests", detailType: CLOUDEVENT_DETAIL_TYPE, bus: "iota-bus" });
      await lambda.invoke("iota-records-fn", event, "Event");
      await lambda.idle();
      assert.equal(store.collection("records").size, 1, "the commit went through");
      assert.equal(store.collection("companies").get("c1")?.recordCount, 1);
      assert.deepEqual(sent, []);
      // A duplicate that EventBridge could not deliver, parked beside it.
      sqs.put("iota-records-failed-events", {
        body: JSON.stringify(event),
        messageAttributes: {
          RULE_ARN: "arn:aws:events:eu-west-2:000000000000:rule/iota-bus/iota-records-rule",
          TARGET_ARN: functionArn("iota-records-fn"),
          ERROR_CODE: "THROTTLING",
          ERROR_MESSAGE: "Rate Exceeded.",
        },
      });
      const outputs = outputsFile("iota", [
        {
          app: "iota",
          name: "iota-records-failed-events",
          url: sqs.queueUrl("iota-records-failed-events"),
          arn: sqs.queueArn("iota-records-failed-events"),
          functionName: "iota-records-fn",
        },
      ]);
      const listed = await dlq("list", "--outputs", outputs);
      assert.match(listed.out, /lambda-on-failure → iota-records-fn +cloudevent=cmd-1 type=cmd\.record\.create\.v0 source=tests/);
      assert.match(listed.out, /RetriesExhausted after 3 attempt\(s\): UnsentEventsError/);

      putEventsDown = false;
      const { code, out } = await dlq("replay", "--outputs", outputs);
      assert.equal(code, 0, out);
      console.log(
        `      iota: 2 records parked (on-failure, EventBridge duplicate), replayed; events sent: ${JSON.stringify(sent)}, records ${store.collection("records").size}, recordCount ${store.collection("companies").get("c1")?.recordCount}`,
      );
      assert.deepEqual(sent, ["fct.record.created.v0"], "the unsent event goes out once");
      assert.equal(store.collection("records").size, 1, "nothing applied twice");
      assert.equal(store.collection("companies").get("c1")?.recordCount, 1);
      assert.deepEqual([...store.journal.values()][0].outbox, []);
      assert.equal(sqs.held("iota-records-failed-events").length, 0);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("skills: one replayed sync stands for the failed runs before it", () => {
    it("invokes the sync once and deletes every older message of its queue", async () => {
      let runs = 0;
      lambda.add("skills-sync", { run: async () => ({ runs: ++runs }) });
      const queueUrl = sqs.createQueue("skills-failed-invocations");
      const hoursAgo = (h: number) => Date.now() - h * 3_600_000;
      for (const h of [18, 12, 6]) {
        sqs.put(queueUrl, {
          body: "",
          sentTimestamp: hoursAgo(h),
          messageAttributes: {
            SCHEDULE_ARN: "arn:aws:scheduler:eu-west-2:000000000000:schedule/default/skills-schedule",
            TARGET_ARN: functionArn("skills-sync"),
            ERROR_CODE: "AWS.Scheduler.InternalServerError",
            ERROR_MESSAGE: "Unexpected error",
            EXECUTION_ID: `exec-${h}`,
          },
        });
      }
      const outputs = outputsFile("skills", [
        {
          app: "skills",
          name: "skills-failed-invocations",
          url: queueUrl,
          arn: sqs.queueArn("skills-failed-invocations"),
          functionName: "skills-sync",
          reconciles: true,
        },
      ]);
      const { code, out } = await dlq("replay", "--outputs", outputs);
      assert.equal(code, 0, out);
      assert.equal(runs, 1);
      assert.match(out, /1 replayed, 2 covered by a reconciling run/);
      assert.equal(sqs.held(queueUrl).length, 0);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("bad input: a clear error, and the message stays in its queue", () => {
    let outputs: string;
    before(() => {
      lambda.add("bad-input-fn", { run: async () => "ok" });
      sqs.createQueue("bad-input-dlq");
      outputs = outputsFile("bad", [
        {
          app: "lessons",
          name: "bad-input-dlq",
          url: sqs.queueUrl("bad-input-dlq"),
          arn: sqs.queueArn("bad-input-dlq"),
          functionName: "bad-input-fn",
        },
      ]);
    });

    it("names the known queues for an unknown one (exit 2), and says a queue URL does not exist (exit 1)", async () => {
      const unknown = await dlq("list", "--outputs", outputs, "--queue", "no-such-queue");
      assert.equal(unknown.code, 2);
      assert.match(unknown.err, /unknown queue "no-such-queue": the stack's dead-letter queues are bad-input-dlq/);
      const missing = await dlq("replay", "--queue", sqs.queueUrl("never-made"));
      assert.equal(missing.code, 1);
      assert.match(missing.err, /never-made .*: the queue does not exist/);
    });

    it("keeps a body that is not a record it knows, naming the message and why", async () => {
      const garbage = sqs.put("bad-input-dlq", { body: "{not json" });
      const stranger = sqs.put("bad-input-dlq", { body: JSON.stringify({ hello: "world" }) });
      const { code, out } = await dlq("replay", "--outputs", outputs);
      assert.equal(code, 1);
      assert.match(out, new RegExp(`unreadable ${garbage}: its body is not JSON \\("\\{not json"\\); it stays in the queue`));
      assert.match(out, new RegExp(`unreadable ${stranger}: it is none of the formats the command knows`));
      const held = sqs.held("bad-input-dlq");
      assert.deepEqual(held.map((m) => m.messageId).sort(), [garbage, stranger].sort());
      assert.ok(
        held.every((m) => m.visibleAt <= Date.now()),
        "visible again for the next run",
      );
      for (const m of held) m.visibleAt = Number.MAX_SAFE_INTEGER;
    });

    it("keeps a message whose function no longer exists, or still fails", async () => {
      const record = (fn: string) =>
        JSON.stringify({
          version: "1.0",
          timestamp: new Date().toISOString(),
          requestContext: {
            requestId: "r",
            functionArn: `${functionArn(fn)}:$LATEST`,
            condition: "RetriesExhausted",
            approximateInvokeCount: 3,
          },
          requestPayload: { detail: {} },
          responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
          responsePayload: { errorType: "Error", errorMessage: "boom" },
        });
      lambda.add("still-failing-fn", { run: async () => Promise.reject(new TypeError("still broken")) });
      const gone = sqs.put("bad-input-dlq", { body: record("gone-fn") });
      const failing = sqs.put("bad-input-dlq", { body: record("still-failing-fn") });
      const { code, out } = await dlq("replay", "--outputs", outputs);
      assert.equal(code, 1);
      assert.match(
        out,
        new RegExp(`FAILED +${gone} .*function gone-fn does not exist in eu-west-2 \\(Function not found: .*\\).*; it stays in the queue`),
      );
      assert.match(
        out,
        new RegExp(`FAILED +${failing} .*still-failing-fn failed \\(Unhandled\\): TypeError: still broken; it stays in the queue`),
      );
      assert.deepEqual(
        sqs
          .held("bad-input-dlq")
          .filter((m) => m.visibleAt <= Date.now())
          .map((m) => m.messageId)
          .sort(),
        [gone, failing].sort(),
      );
    });

    it("shows one message in full, e-mail addresses masked, and stops after --limit messages", async () => {
      const id = sqs.put("bad-input-dlq", {
        body: JSON.stringify({
          kind: RESUME_KIND,
          reason: "1 lesson(s) not sent",
          failedAt: new Date().toISOString(),
          remaining: ["x1"],
          refused: [],
          event: {
            detail: { fullDocument: { externalId: "auth0|77", email: "camper@example.org" }, updateDescription: { updatedFields: {} } },
          },
        }),
      });
      const shown = await dlq("show", id, "--outputs", outputs);
      assert.equal(shown.code, 0, shown.err);
      const document = JSON.parse(shown.out);
      assert.equal(document.format, "lessons-resume");
      assert.deepEqual(document.replay.payload.remaining, ["x1"]);
      assert.equal(document.keys.email, "c***@example.org");
      assert.ok(!shown.out.includes("camper@"), "no e-mail address in clear");
      const limited = await dlq("replay", "--outputs", outputs, "--limit", "1", "--dry-run");
      assert.equal((limited.out.match(/^ {2}(would replay|unreadable|FAILED|kept)/gm) ?? []).length, 1);
      assert.equal(sqs.held("bad-input-dlq").filter((m) => m.visibleAt <= Date.now()).length, 3, "a dry run changes nothing");
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("reading a queue", () => {
    it("visits each message once and stops, even when messages come back visible during the run", async () => {
      const url = sqs.createQueue("visit-once");
      const ids = ["a", "b", "c"].map((body) => sqs.put(url, { body }));
      const visited: string[] = [];
      const clients = new Clients();
      // Visibility 0: every receive hands the same messages out again.
      const result = await visitMessages(
        clients,
        { app: "-", name: "visit-once", url },
        { limit: 100, visibilitySeconds: 0, waitSeconds: 0 },
        async (m) => {
          visited.push(m.MessageId!);
          return "kept";
        },
      );
      clients.destroy();
      assert.deepEqual(visited.sort(), [...ids].sort());
      assert.equal(result.visited, 3);
      assert.equal(sqs.held(url).length, 3);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("the command line", () => {
    it("prints its help for --help (exit 0), and one line for an unknown command or flag (exit 2)", async () => {
      // As a command, with the other scripts': test/scripts/cli.test.ts.
      const help = await dlq("--help");
      assert.equal(help.code, 0);
      assert.match(help.out, /^Usage: npm run dlq -- list/);
      assert.deepEqual(await dlq("frobnicate"), {
        code: 2,
        out: "",
        err: 'npm run dlq: unknown command "frobnicate"; see npm run dlq -- --help',
      });
      assert.deepEqual(await dlq("list", "--bogus"), {
        code: 2,
        out: "",
        err: "npm run dlq: unknown option --bogus; see npm run dlq -- --help",
      });
      assert.deepEqual(await dlq(), {
        code: 2,
        out: "",
        err: "npm run dlq: a command is required: list, show or replay; see npm run dlq -- --help",
      });
      assert.deepEqual(await dlq("list", "--limit", "0"), {
        code: 2,
        out: "",
        err: 'npm run dlq: --limit must be a whole number of messages, at least 1 (got "0"); see npm run dlq -- --help',
      });
    });

    it("says how to give the queues when the Pulumi CLI is not there", async () => {
      const result = await runScript("dlq", ["list", "--stack", "dev"], { PATH: path.dirname(process.execPath) });
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /could not run `pulumi stack output --json --stack dev`.*install the Pulumi CLI, or give --outputs <file> or --queue <url>/,
      );
    });

    it("lists a queue read from a saved copy of the outputs, as `npm run dlq` runs", async () => {
      const queueUrl = sqs.createQueue("cli-dlq");
      sqs.put(queueUrl, {
        body: JSON.stringify({ detail: {} }),
        messageAttributes: {
          RULE_ARN: "arn:aws:events:eu-west-2:000000000000:rule/r",
          TARGET_ARN: functionArn("cli-fn"),
          ERROR_CODE: "NO_PERMISSIONS",
          ERROR_MESSAGE: "denied",
        },
      });
      const outputs = outputsFile("cli", [{ app: "lessons", name: "cli-dlq", url: queueUrl, arn: sqs.queueArn("cli-dlq") }]);
      const result = await runScript("dlq", ["list", "--outputs", outputs], localAwsEnv({ AWS_ENDPOINT_URL_SQS: sqs.url }));
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /cli-dlq \(lessons\): 1 message\(s\)/);
      assert.match(result.stdout, /eventbridge-dlq → cli-fn/);
      assert.match(result.stdout, /EventBridge could not deliver it: NO_PERMISSIONS: denied/);
    });
  });
});
