/**
 * The iota engine against a real MongoDB replica set (transactions need one). Runs when
 * MONGODB_URI is set — the GitHub workflow starts a `mongo` container — and reports itself
 * as skipped otherwise, saying why (test/helpers/mongodb.ts). See docs/development.md for running it locally.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { type Db, MongoClient } from "mongodb";
import { Iota, type PutEvents, SKIPPED, UnsentEventsError } from "../../handlers/iota/engine";
import { JOURNAL_KEY_INDEX, migrateJournal, MongoStore } from "../../handlers/iota/mongo-store";
import { CLOUDEVENT_DETAIL_TYPE } from "../../handlers/iota/cloudevents";
import { payloadPath, readPayload } from "../helpers/fixtures";
import { assertJournalNulls, assertWithIotaE2eOutcome, runWithIotaE2e } from "../helpers/iota-e2e";
import { mongoSuite, requireMongo } from "../helpers/mongodb";
import { runScript } from "../helpers/run-script";
import { REPO_ROOT } from "../../paths";

const JOURNAL = "iotaJournalEntries";
const WITH_IOTA_INDEX_NAME = "cloudevent.id_1_cloudevent.source_1_cloudevent.type_1_service.id_1";

describe(mongoSuite("iota with MongoDB"), function () {
  this.timeout(60_000);
  let uri: string;
  let client: MongoClient;
  let db: Db;
  const sent: string[] = [];
  let failPuts = false;
  const putEvents: PutEvents = async (entries) => {
    if (failPuts)
      return { FailedEntryCount: entries.length, Entries: entries.map(() => ({ ErrorCode: "InternalFailure", ErrorMessage: "down" })) };
    sent.push(...entries.map((e) => JSON.parse(e.Detail).type));
    return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) };
  };
  const iota = (serviceId = "records.test") =>
    new Iota({
      serviceId,
      eventBusName: "bus",
      store: new MongoStore(client, db, JOURNAL),
      putEvents,
      emitRetries: 1,
      emitBackoffMs: () => 1,
    });
  const command = (id: string) => ({
    id,
    source: "tests",
    type: "cmd.record.create.v0",
    datacontenttype: "application/json",
    data: JSON.stringify({ companyId: "c1" }),
  });
  const journalEntry = (id: string) => db.collection(JOURNAL).findOne({ "cloudevent.id": id });

  before(async function () {
    uri = requireMongo(this);
    client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 10_000 });
  });
  beforeEach(async () => {
    db = client.db(`iota_test_${process.pid}_${Date.now()}`);
    await db.collection("companies").insertOne({ id: "c1", recordCount: 0 });
    // A unique id on records lets a test make the commit fail midway.
    await db.collection("records").createIndex({ id: 1 }, { unique: true });
    sent.length = 0;
    failPuts = false;
  });
  afterEach(async () => db?.dropDatabase());
  after(async () => client?.close());

  it("writes with-iota's journal document and index, unset attributes as null", async () => {
    await iota().withIota(
      { ...command("e1"), subject: undefined },
      {},
      {
        func: ({ mutation, rapids }) => {
          mutation.stage({ action: "increment", table: "companies", id: "c1", props: { recordCount: 1 } });
          rapids.stage({ type: "fct.one.v0", data: { a: 1 } });
        },
      },
    );
    const entry = await journalEntry("e1");
    assert.deepEqual(entry?.cloudevent, { ...command("e1"), subject: null });
    assert.deepEqual(
      [entry?.rapids[0].dataschema, entry?.rapids[0].subject, entry?.rapids[0].actor, entry?.rapids[0].wschannelid],
      [null, null, null, null],
    );
    assert.equal(entry?.service.id, "records.test");
    assert.equal(typeof entry?.service.startedAt, "string");
    assert.equal(typeof entry?.service.endedAt, "string");
    assert.deepEqual(entry?.mutations, [
      { action: "increment", id: "c1", props: { recordCount: 1 }, table: "companies", version: "2023-09-27" },
    ]);
    assert.equal(entry?.rapids[0].type, "fct.one.v0");
    assert.deepEqual(entry?.outbox, []);
    assert.ok(entry?.expiresAt instanceof Date);
    const indexes = await db.collection(JOURNAL).indexes();
    const key = indexes.find((i) => i.name === WITH_IOTA_INDEX_NAME);
    assert.deepEqual(key?.key, JOURNAL_KEY_INDEX);
    assert.equal(key?.unique, true);
    assert.equal(indexes.find((i) => i.name === "expiresAt_1")?.expireAfterSeconds, 0);
  });

  it("reads the entries with-iota wrote, and shares its index with it", async () => {
    // An existing collection, as with-iota v1 left it: its index, a committed entry.
    await db.collection(JOURNAL).createIndex(JOURNAL_KEY_INDEX, { unique: true });
    await db.collection(JOURNAL).insertOne({
      cloudevent: command("old"),
      service: { id: "records.test", startedAt: "2025-06-01T00:00:00.000Z", endedAt: "2025-06-01T00:00:01.000Z" },
      mutations: [],
      rapids: [],
    });
    let ran = false;
    assert.equal(await iota().withIota(command("old"), {}, { func: () => void (ran = true) }), SKIPPED);
    assert.equal(ran, false);
    assert.equal(await iota().withIota(command("new"), {}, { func: () => "applied" }), "applied");
  });

  it("rolls the whole commit back when a mutation fails midway, and a retry applies it", async () => {
    await assert.rejects(
      iota().withIota(
        command("e1"),
        {},
        {
          func: ({ mutation, rapids }) => {
            mutation.stage({ action: "increment", table: "companies", id: "c1", props: { recordCount: 1 } });
            mutation.stage({ action: "create", table: "records", id: "dup" });
            mutation.stage({ action: "create", table: "records", id: "dup" });
            rapids.stage({ type: "fct.never.v0" });
          },
        },
      ),
      /duplicate key/,
    );
    assert.equal((await db.collection("companies").findOne({ id: "c1" }))?.recordCount, 0);
    assert.equal(await db.collection("records").countDocuments(), 0);
    assert.equal((await journalEntry("e1"))?.service.endedAt, null);
    assert.deepEqual(sent, []);
    assert.equal(await iota().withIota(command("e1"), {}, { func: () => "retried" }), "retried");
  });

  it("passes with-iota's e2e run: 20 concurrent invocations, events 1-4 applied once, event 0 never committed", async () => {
    const engine = () =>
      new Iota({
        serviceId: "some-service-id",
        eventBusName: "bus",
        store: new MongoStore(client, db, JOURNAL),
        putEvents,
        emitBackoffMs: () => 1,
      });
    assertWithIotaE2eOutcome(await runWithIotaE2e(engine, sent));
    assert.equal(await db.collection("featureFlags").countDocuments(), 0);
    const entries = await db.collection(JOURNAL).find().toArray();
    assert.deepEqual(
      entries
        .filter((e) => e.service.endedAt !== null)
        .map((e) => e.cloudevent.id)
        .sort(),
      ["1", "2", "3", "4"],
    );
    assert.ok(entries.filter((e) => e.cloudevent.id === "0").every((e) => e.service.endedAt === null));
    for (const entry of entries.filter((e) => e.service.endedAt !== null)) assertJournalNulls(entry as any);
  });

  it("refuses an event older than the journal's retention when no entry is left, writing nothing", async () => {
    const warnings: string[] = [];
    const engine = new Iota({
      serviceId: "records.test",
      eventBusName: "bus",
      store: new MongoStore(client, db, JOURNAL),
      putEvents,
      warn: (message) => warnings.push(message),
    });
    const old = { ...command("e-old"), time: new Date(Date.now() - 16 * 24 * 3600 * 1000).toISOString() };
    assert.equal(await engine.withIota(old, {}, { func: () => "applied" }), SKIPPED);
    assert.equal(await db.collection(JOURNAL).countDocuments(), 0);
    assert.equal(warnings.length, 1);
  });

  it("resends only the unsent events after an emission failure, without applying anything again", async () => {
    failPuts = true;
    const func = ({ mutation, rapids }: any) => {
      mutation.stage({ action: "increment", table: "companies", id: "c1", props: { recordCount: 1 } });
      rapids.stage({ type: "fct.one.v0" });
      rapids.stage({ type: "fct.two.v0" });
      return "applied";
    };
    await assert.rejects(iota().withIota(command("e1"), {}, { func }), UnsentEventsError);
    const entry = await journalEntry("e1");
    assert.equal(entry?.outbox.length, 2);
    assert.equal(entry?.expiresAt, undefined);

    failPuts = false;
    assert.equal(await iota().withIota(command("e1"), {}, { func }), SKIPPED);
    assert.deepEqual(sent, ["fct.one.v0", "fct.two.v0"]);
    assert.equal((await db.collection("companies").findOne({ id: "c1" }))?.recordCount, 1);
    assert.deepEqual((await journalEntry("e1"))?.outbox, []);
  });

  it("returns a cursor from find, as the driver does", async () => {
    const names = await iota().withIota(
      command("e1"),
      {},
      {
        func: async ({ find }) => (await find("companies", { id: "c1" }, { projection: { _id: 0, id: 1 } })).toArray(),
      },
    );
    assert.deepEqual(names, [{ id: "c1" }]);
  });

  it("applies the sample command payloads/iota/record-created.json once with `npm run invoke -- iota-records`, and announces the record", async () => {
    await db.collection("companies").insertOne({ id: "acme", recordCount: 0 });
    // EventBridge's PutEvents (JSON 1.1), recorded.
    const puts: { target: unknown; request: { Entries: { EventBusName: string; DetailType: string; Detail: string }[] } }[] = [];
    const eventBridge = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        const request = JSON.parse(body);
        puts.push({ target: req.headers["x-amz-target"], request });
        res.setHeader("content-type", "application/x-amz-json-1.1");
        res.end(JSON.stringify({ FailedEntryCount: 0, Entries: request.Entries.map((_: unknown, i: number) => ({ EventId: `eb-${i}` })) }));
      });
    });
    await new Promise<void>((resolve) => eventBridge.listen(0, "127.0.0.1", resolve));
    try {
      const fixture = payloadPath("iota", "record-created.json");
      const result = await runScript("invoke", ["iota-records", "--event", fixture, "--event", fixture], {
        MILL_IOTA_MONGO_URI: uri,
        MILL_IOTA_MONGO_URI_PARAM: "",
        MILL_IOTA_MONGO_DB: db.databaseName,
        MILL_IOTA_SERVICE_ID: "records.local",
        MILL_IOTA_EVENTBUS_NAME: "local-bus",
        MILL_IOTA_AWS_ENDPOINT: `http://127.0.0.1:${(eventBridge.address() as AddressInfo).port}`,
        MILL_IOTA_AWS_REGION: "eu-west-2",
        AWS_ACCESS_KEY_ID: "local",
        AWS_SECRET_ACCESS_KEY: "local",
      });
      assert.equal(result.code, 0, result.stderr);
      const [created, again] = result.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      assert.match(created.id, /^rn_/);
      assert.equal(again, SKIPPED, "the same command twice is applied once");
      assert.deepEqual(await db.collection("records").findOne({ id: created.id }, { projection: { _id: 0 } }), {
        companyId: "acme",
        name: "Q3 report",
        id: created.id,
      });
      assert.equal((await db.collection("companies").findOne({ id: "acme" }))?.recordCount, 1);
      assert.equal(puts.length, 1);
      assert.equal(puts[0].target, "AWSEvents.PutEvents");
      const [entry] = puts[0].request.Entries;
      assert.deepEqual([entry.EventBusName, entry.DetailType], ["local-bus", CLOUDEVENT_DETAIL_TYPE]);
      const announced = JSON.parse(entry.Detail);
      assert.equal(announced.type, "fct.record.created.v0");
      assert.deepEqual(JSON.parse(announced.data), { id: created.id, companyId: "acme", name: "Q3 report" });
      assert.equal(announced.originid, readPayload("iota", "record-created.json").id);
    } finally {
      await new Promise((resolve) => eventBridge.close(resolve));
    }
  });

  it("migrates a journal with-iota left: indexes, and an expiry for its committed entries (npm run iota:migrate)", async () => {
    await db.collection(JOURNAL).insertMany([
      {
        cloudevent: command("a"),
        service: { id: "s", startedAt: "2025-06-01T00:00:00.000Z", endedAt: "2025-06-01T00:00:01.000Z" },
        mutations: [],
        rapids: [],
      },
      {
        cloudevent: command("b"),
        service: { id: "s", startedAt: "2025-06-01T00:00:00.000Z", endedAt: null },
        mutations: null,
        rapids: null,
      },
    ]);
    const result = await migrateJournal(db, JOURNAL, 7 * 24 * 3600 * 1000);
    assert.equal(result.expiring, 1);
    assert.ok(result.indexes.includes(WITH_IOTA_INDEX_NAME));
    assert.equal((await journalEntry("a"))?.expiresAt.toISOString(), "2025-06-08T00:00:01.000Z");
    assert.equal((await journalEntry("b"))?.expiresAt, undefined, "an entry still pending does not get one");
    assert.equal((await migrateJournal(db, JOURNAL, 1)).expiring, 0, "idempotent");

    const script = spawnSync(
      path.join(REPO_ROOT, "node_modules", ".bin", "tsx"),
      [path.join(REPO_ROOT, "scripts", "iota-migrate.ts"), "--uri", uri, "--db", db.databaseName],
      { cwd: REPO_ROOT, encoding: "utf8", timeout: 30_000 },
    );
    assert.equal(script.status, 0, script.stderr);
    assert.match(script.stdout, /0 committed entries now expire/);
  });
});
