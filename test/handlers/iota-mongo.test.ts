/**
 * The iota engine against a real MongoDB replica set (transactions need one). Runs when
 * MONGODB_URI is set — the GitHub workflow starts a `mongo` container — and reports itself
 * as skipped otherwise. See the README for running it locally.
 */
import * as assert from "node:assert/strict";
import { type Db, MongoClient } from "mongodb";
import { EventInProgressError, Iota, type PutEvents, SKIPPED, UnsentEventsError } from "../../handlers/lib/iota/engine";
import { MongoStore } from "../../handlers/lib/iota/mongo-store";

const uri = process.env.MONGODB_URI;

describe("iota with MongoDB", function () {
  this.timeout(60_000);
  let client: MongoClient;
  let db: Db;
  const sent: string[] = [];
  let failPuts = false;
  const putEvents: PutEvents = async (entries) => {
    if (failPuts) return { FailedEntryCount: entries.length, Entries: entries.map(() => ({ ErrorCode: "InternalFailure", ErrorMessage: "down" })) };
    sent.push(...entries.map((e) => JSON.parse(e.Detail).type));
    return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) };
  };
  const iota = (leaseMs = 60_000) =>
    new Iota({ serviceId: "records.test", eventBusName: "bus", store: new MongoStore(client, db, "iotaJournalEntries"), putEvents, leaseMs, emitRetries: 1, emitBackoffMs: () => 1 });
  const command = (id: string) => ({ id, source: "tests", type: "cmd.record.create.v0", datacontenttype: "application/json", data: JSON.stringify({ companyId: "c1" }) });

  before(async function () {
    if (!uri) this.skip();
    client = await MongoClient.connect(uri!, { serverSelectionTimeoutMS: 10_000 });
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

  it("rolls the whole commit back when a mutation fails midway", async () => {
    await assert.rejects(
      iota().withIota(command("e1"), {}, {
        func: ({ mutation, rapids }) => {
          mutation.stage({ action: "INCREMENT", table: "companies", id: "c1", props: { recordCount: 1 } });
          mutation.stage({ action: "CREATE", table: "records", id: "dup" });
          mutation.stage({ action: "CREATE", table: "records", id: "dup" });
          rapids.stage({ type: "fct.never.v0" });
        },
      }),
      /duplicate key/,
    );
    assert.equal((await db.collection("companies").findOne({ id: "c1" }))?.recordCount, 0);
    assert.equal(await db.collection("records").countDocuments(), 0);
    const entry = await db.collection("iotaJournalEntries").findOne({ cloudeventId: "e1" });
    assert.equal(entry?.status, "pending");
    assert.deepEqual(sent, []);
    // The event can then be applied by a retry.
    assert.equal(await iota().withIota(command("e1"), {}, { func: () => "retried" }), "retried");
  });

  it("applies each of 5 events once across 20 concurrent invocations, one event's function throwing", async () => {
    const ids = ["a", "b", "c", "d", "poison"];
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        iota().withIota(command(ids[i % 5]), {}, {
          func: async ({ cloudevent, mutation, rapids }) => {
            if (cloudevent.id === "poison") throw new Error("poisoned");
            mutation.stage({ action: "CREATE", table: "records", id: `record-${cloudevent.id}` });
            mutation.stage({ action: "INCREMENT", table: "companies", id: "c1", props: { recordCount: 1 } });
            rapids.stage({ type: `fct.created.${cloudevent.id}` });
            return "applied";
          },
        }),
      ),
    );
    const applied = outcomes.filter((o) => o.status === "fulfilled" && o.value === "applied").length;
    const skipped = outcomes.filter((o) => o.status === "fulfilled" && o.value === SKIPPED).length;
    const busy = outcomes.filter((o) => o.status === "rejected" && o.reason instanceof EventInProgressError).length;
    const poisoned = outcomes.filter((o) => o.status === "rejected" && /poisoned/.test(String(o.reason))).length;
    assert.equal(applied, 4, "each good event applied exactly once");
    assert.equal(applied + skipped + busy + poisoned, 20);
    assert.ok(poisoned >= 1);
    assert.equal((await db.collection("companies").findOne({ id: "c1" }))?.recordCount, 4);
    assert.equal(await db.collection("records").countDocuments(), 4);
    assert.deepEqual([...sent].sort(), ["fct.created.a", "fct.created.b", "fct.created.c", "fct.created.d"]);
    const journal = await db.collection("iotaJournalEntries").find().toArray();
    assert.equal(journal.length, 5);
    assert.equal(journal.find((e) => e.cloudeventId === "poison")?.status, "pending");
  });

  it("resends only the unsent events after an emission failure, without applying anything again", async () => {
    failPuts = true;
    const func = ({ mutation, rapids }: any) => {
      mutation.stage({ action: "INCREMENT", table: "companies", id: "c1", props: { recordCount: 1 } });
      rapids.stage({ type: "fct.one.v0" });
      rapids.stage({ type: "fct.two.v0" });
      return "applied";
    };
    await assert.rejects(iota().withIota(command("e1"), {}, { func }), UnsentEventsError);
    const entry = await db.collection("iotaJournalEntries").findOne({ cloudeventId: "e1" });
    assert.equal(entry?.status, "committed");
    assert.equal(entry?.outbox.filter((e: { sent: boolean }) => !e.sent).length, 2);

    failPuts = false;
    assert.equal(await iota().withIota(command("e1"), {}, { func }), SKIPPED);
    assert.deepEqual(sent, ["fct.one.v0", "fct.two.v0"]);
    assert.equal((await db.collection("companies").findOne({ id: "c1" }))?.recordCount, 1);
    assert.ok((await db.collection("iotaJournalEntries").findOne({ cloudeventId: "e1" }))?.outbox.every((e: { sent: boolean }) => e.sent));
  });

  it("keeps one unique journal index on (cloudevent id, source, type, service id)", async () => {
    await iota().withIota(command("e1"), {}, { func: () => 1 });
    const indexes = await db.collection("iotaJournalEntries").indexes();
    const key = indexes.find((i) => i.name === "journal_key");
    assert.deepEqual(key?.key, { cloudeventId: 1, source: 1, type: 1, serviceId: 1 });
    assert.equal(key?.unique, true);
  });
});
