import * as assert from "node:assert/strict";
import { CLOUDEVENT_DETAIL_TYPE, cloudEventOf, IotaInputError, MAX_ENTRY_BYTES } from "../../handlers/iota/cloudevents";
import {
  CREATE,
  decide,
  DELETE,
  EventInProgressError,
  type FuncContext,
  INCREMENT,
  Iota,
  type IotaOptions,
  type JournalEntry,
  type Mutation,
  MutationAction,
  MutationVersion,
  type PutEvents,
  type PutEventsResult,
  SET,
  SKIPPED,
  UnsentEventsError,
} from "../../handlers/iota/engine";
import { assertJournalNulls, assertWithIotaE2eOutcome, runWithIotaE2e } from "../helpers/iota-e2e";
import { createRecord } from "../../handlers/iota/records";
import { MemoryStore } from "../../tooling/local/iota-memory-store";
import { payloadPath, readPayload } from "../helpers/fixtures";
import { runScript } from "../helpers/run-script";

const command = (id = "evt-1", data: unknown = { companyId: "c1", name: "r" }) => ({
  specversion: "1.0",
  id,
  source: "tests",
  type: "cmd.record.create.v0",
  datacontenttype: "application/json",
  data: JSON.stringify(data),
});
const viaEventBridge = (cloudevent: unknown) => ({
  version: "0",
  id: "eb-1",
  "detail-type": CLOUDEVENT_DETAIL_TYPE,
  source: "tests",
  detail: cloudevent,
});

/** A PutEvents stand-in that records each request and answers from a script. */
function recorder(
  answer: (entries: unknown[], call: number) => PutEventsResult = (entries) => ({
    FailedEntryCount: 0,
    Entries: entries.map((_, i) => ({ EventId: `eb-${i}` })),
  }),
) {
  const calls: { Detail: string }[][] = [];
  const putEvents: PutEvents = async (entries) => {
    calls.push(entries);
    return answer(entries, calls.length);
  };
  return { calls, putEvents };
}

describe("iota engine", () => {
  let store: MemoryStore;
  let now: Date;
  const iota = (putEvents: PutEvents, options: Partial<IotaOptions> = {}) =>
    new Iota({ serviceId: "records.test", eventBusName: "iota-bus", store, putEvents, now: () => now, emitBackoffMs: () => 1, ...options });

  beforeEach(() => {
    store = new MemoryStore();
    now = new Date("2026-01-01T00:00:00Z");
  });

  describe("envelope and data", () => {
    it("reads the CloudEvent from an EventBridge envelope's detail, or takes the event itself", async () => {
      const { putEvents } = recorder();
      const seen: unknown[] = [];
      const func = ({ cloudevent, data }: { cloudevent: unknown; data: unknown }) => void seen.push([cloudevent, data]);
      await iota(putEvents).withIota(viaEventBridge(command("a")), {}, { func });
      await iota(putEvents).withIota(command("b"), {}, { func });
      assert.deepEqual(
        seen.map(([ce, data]: any) => [ce.id, data]),
        [
          ["a", { companyId: "c1", name: "r" }],
          ["b", { companyId: "c1", name: "r" }],
        ],
      );
    });

    it("needs string id, source and type, naming the bad one", async () => {
      const { putEvents } = recorder();
      for (const [event, message] of [
        [{ ...command(), id: 5 }, /event\.id must be a non-empty string \(got 5\)/],
        [viaEventBridge({ ...command(), source: undefined }), /event\.detail\.source must be a non-empty string/],
        [{}, /event\.id/],
        [null, /event\.id/],
      ] as const) {
        await assert.rejects(
          iota(putEvents).withIota(event, {}, { func: () => "never" }),
          (err: Error) => err instanceof IotaInputError && message.test(err.message),
        );
      }
      assert.equal(store.journal.size, 0);
    });

    it("parses data only when it is a JSON string declared as application/json", async () => {
      const { putEvents } = recorder();
      const data = async (event: object) => iota(putEvents).withIota(event, {}, { func: ({ data }) => data });
      assert.deepEqual(await data({ ...command("1"), data: '{"a":1}' }), { a: 1 });
      assert.equal(await data({ ...command("2"), datacontenttype: "text/plain", data: '{"a":1}' }), '{"a":1}');
      assert.deepEqual(await data({ ...command("3"), data: { already: "object" } }), { already: "object" });
      await assert.rejects(data({ ...command("4"), data: "not json" }), /data is declared application\/json but is not JSON/);
    });
  });

  describe("with-iota v1's API", () => {
    it("exports MutationAction, MutationVersion and the older README's constants, with with-iota's values", () => {
      assert.deepEqual(MutationAction, { CREATE: "create", DELETE: "delete", INCREMENT: "increment", SET: "set" });
      assert.deepEqual(MutationVersion, { v2023_09_27: "2023-09-27" });
      assert.deepEqual([CREATE, DELETE, INCREMENT, SET], ["create", "delete", "increment", "set"]);
    });

    it("stages create (an rn_<uuidv7> id), set, increment and delete, in order, on `table` or the older `type`", async () => {
      const { putEvents } = recorder();
      store.collection("companies").set("c1", { id: "c1", recordCount: 1 });
      store.collection("old").set("x", { id: "x" });
      const created = await iota(putEvents).withIota(
        command(),
        {},
        {
          func: ({ mutation }) => {
            const record = mutation.stage({ action: MutationAction.CREATE, table: "records", props: { name: "r", b: { z: 1, a: 2 } } });
            mutation.stage({ action: SET, type: "records", id: record.id, props: { name: "renamed" } });
            mutation.stage({ action: INCREMENT, table: "companies", id: "c1", props: { recordCount: 2 } });
            mutation.stage({ action: DELETE, table: "old", id: "x" });
            return record;
          },
        },
      );
      const record = created as Mutation;
      assert.match(record.id, /^rn_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(record.id.length, 39);
      // stage() returns the mutation itself, props sorted as with-iota sorts them.
      assert.deepEqual(record, {
        action: "create",
        id: record.id,
        props: { b: { a: 2, z: 1 }, name: "r" },
        table: "records",
        version: "2023-09-27",
      });
      assert.deepEqual(Object.keys(record.props), ["b", "name"]);
      assert.deepEqual([...store.collection("records").values()], [{ b: { a: 2, z: 1 }, name: "renamed", id: record.id }]);
      assert.equal(store.collection("companies").get("c1")?.recordCount, 3);
      assert.equal(store.collection("old").size, 0);
    });

    it("refuses a bad mutation with a clear error, and applies nothing", async () => {
      const { putEvents } = recorder();
      for (const [stage, message] of [
        [{ action: "upsert", table: "t" }, /action must be one of create, delete, increment, set \(got "upsert"\)/],
        [{ action: "CREATE", table: "t" }, /action must be one of/],
        [{ action: SET, table: "t" }, /set needs an id/],
        [{ action: CREATE }, /table \(or its older name, type\)/],
        [{ action: CREATE, table: "t", props: [1] }, /props must be an object/],
        [{ action: INCREMENT, table: "t", id: "a", props: { n: "1" } }, /increment props\.n must be a number/],
        [{ action: CREATE, table: "t", version: "2020-01-01" }, /version must be one of 2023-09-27/],
      ] as const) {
        await assert.rejects(
          iota(putEvents).withIota(command(`bad-${String(message)}`), {}, { func: ({ mutation }) => mutation.stage(stage as never) }),
          message,
        );
      }
      assert.equal(store.commits, 0);
    });

    it("stages events as @1mill/cloudevents v6 builds them: ce_<uuidv7> ids, data encoded, the chain's root as origin", async () => {
      const { putEvents, calls } = recorder();
      const root = { ...command("root-1"), time: "2025-12-31T00:00:00.000Z" };
      const child = {
        ...command("child-1"),
        originid: "root-1",
        originsource: "tests",
        origintime: "2025-12-31T00:00:00.000Z",
        origintype: "cmd.record.create.v0",
      };
      const func = ({ rapids }: FuncContext<unknown>) => {
        rapids.stage({ type: "fct.record.created.v0", data: { id: "r1" }, subject: "records/r1" });
        rapids.stage({ type: "fct.bare.v0" });
        rapids.stage({ type: "fct.raw.v0", data: "<xml/>", datacontenttype: "application/xml" });
      };
      await iota(putEvents).withIota(root, {}, { func });
      await iota(putEvents).withIota(child, {}, { func });
      const [fromRoot, fromChild] = calls.map((batch) => batch.map((e: any) => ({ entry: e, event: JSON.parse(e.Detail) })));
      const [{ entry, event }, bare, raw] = fromRoot;
      assert.deepEqual([entry.EventBusName, entry.Source, entry.DetailType], ["iota-bus", "records.test", "application/cloudevents+json"]);
      assert.match(event.id, /^ce_[0-9a-f]{8}-[0-9a-f]{4}-7/);
      assert.equal(event.id.length, 39);
      assert.deepEqual(
        { ...event, id: undefined },
        {
          data: '{"id":"r1"}',
          datacontenttype: "application/json",
          id: undefined,
          source: "records.test",
          specversion: "1.0",
          subject: "records/r1",
          time: "2026-01-01T00:00:00.000Z",
          type: "fct.record.created.v0",
          // The trigger has no origin of its own: the new event is the root of its chain.
          originid: event.id,
          originsource: "records.test",
          origintime: "2026-01-01T00:00:00.000Z",
          origintype: "fct.record.created.v0",
        },
      );
      assert.equal("data" in bare.event, false, "no data: no data attribute");
      assert.equal("datacontenttype" in bare.event, false);
      assert.deepEqual([raw.event.data, raw.event.datacontenttype], ["<xml/>", "application/xml"]);
      // A trigger that carries its chain's root passes it on.
      assert.deepEqual(
        [fromChild[0].event.originid, fromChild[0].event.originsource, fromChild[0].event.origintime, fromChild[0].event.origintype],
        ["root-1", "tests", "2025-12-31T00:00:00.000Z", "cmd.record.create.v0"],
      );
    });

    it("gives the read helpers (collection, ...the driver's arguments); find resolves to a cursor", async () => {
      const { putEvents } = recorder();
      store.collection("companies").set("c1", { id: "c1", name: "Acme", kind: "a" });
      store.collection("companies").set("c2", { id: "c2", name: "Bolt", kind: "a" });
      const read = await iota(putEvents).withIota(
        command(),
        {},
        {
          func: async ({ find, findOne, countDocuments, distinct }) => {
            const cursor = await find("companies", { kind: "a" });
            const names: unknown[] = [];
            for await (const doc of await find("companies", {})) names.push(doc.name);
            return [
              await cursor.toArray(),
              names,
              await findOne("companies", { id: "c1" }),
              await countDocuments("companies", { kind: "a" }),
              await distinct("companies", "kind"),
            ];
          },
        },
      );
      assert.deepEqual(read, [
        [
          { id: "c1", name: "Acme", kind: "a" },
          { id: "c2", name: "Bolt", kind: "a" },
        ],
        ["Acme", "Bolt"],
        { id: "c1", name: "Acme", kind: "a" },
        2,
        ["a"],
      ]);
    });
  });

  describe("the journal, as with-iota writes it", () => {
    const key = { cloudeventId: "evt-1", source: "tests", type: "cmd.record.create.v0", serviceId: "records.test" };

    it("writes with-iota's document, with our lease, outbox and expiry beside it", async () => {
      const { putEvents } = recorder();
      await iota(putEvents).withIota(
        command(),
        {},
        {
          func: ({ mutation, rapids }) => {
            mutation.stage({ action: CREATE, table: "records", id: "r1", props: { n: 1 } });
            rapids.stage({ type: "fct.a.v0" });
          },
        },
      );
      const entry = store.entry(key)!;
      assert.deepEqual(entry.cloudevent, command());
      assert.deepEqual(entry.service, { id: "records.test", startedAt: "2026-01-01T00:00:00.000Z", endedAt: "2026-01-01T00:00:00.000Z" });
      assert.deepEqual(entry.mutations, [{ action: "create", id: "r1", props: { n: 1 }, table: "records", version: "2023-09-27" }]);
      assert.equal(entry.rapids?.length, 1);
      assert.equal(entry.rapids?.[0].type, "fct.a.v0");
      assert.deepEqual(entry.outbox, []);
      assert.deepEqual(Object.keys(entry).sort(), ["cloudevent", "expiresAt", "lease", "mutations", "outbox", "rapids", "service"]);
    });

    it("claims a new event in one round trip, and commits in one more", async () => {
      const { putEvents } = recorder();
      await iota(putEvents).withIota(command(), {}, { func: () => "done" });
      assert.deepEqual(store.calls, ["claim", "commit"]);
    });

    it("counts an entry with-iota committed as applied", async () => {
      const { putEvents } = recorder();
      store.seed(key, {
        cloudevent: command(),
        service: { id: "records.test", startedAt: "2025-06-01T00:00:00.000Z", endedAt: "2025-06-01T00:00:01.000Z" },
        mutations: [],
        rapids: [],
      });
      let ran = false;
      assert.equal(await iota(putEvents).withIota(command(), {}, { func: () => void (ran = true) }), SKIPPED);
      assert.equal(ran, false);
    });

    it("waits for an entry with-iota is still writing, and takes over one it left more than 15 minutes ago", async () => {
      const { putEvents } = recorder();
      const seed = (startedAt: string) =>
        store.seed(key, {
          cloudevent: command(),
          service: { id: "records.test", startedAt, endedAt: null },
          mutations: null,
          rapids: null,
        });
      seed(new Date(now.getTime() - 60_000).toISOString());
      await assert.rejects(iota(putEvents).withIota(command(), {}, { func: () => "too early" }), EventInProgressError);
      seed(new Date(now.getTime() - 16 * 60_000).toISOString());
      assert.equal(await iota(putEvents).withIota(command(), {}, { func: () => "took over" }), "took over");
    });
  });

  describe("leases and expiry", () => {
    const key = { cloudeventId: "evt-1", source: "tests", type: "cmd.record.create.v0", serviceId: "records.test" };

    it("ends the lease at the invocation's deadline, so that Lambda's retry after a timeout takes over", async () => {
      const { putEvents } = recorder();
      // The first invocation has 3 s left and never finishes: Lambda times it out.
      const ctx = { getRemainingTimeInMillis: () => 3_000, callbackWaitsForEmptyEventLoop: true };
      void iota(putEvents).withIota(command(), ctx, { func: () => new Promise(() => undefined) });
      await new Promise((r) => setImmediate(r));
      assert.equal(store.entry(key)?.lease?.expiresAt.getTime(), now.getTime() + 3_000);
      assert.equal(ctx.callbackWaitsForEmptyEventLoop, false, "the MongoDB connection does not hold the invocation open");
      now = new Date(now.getTime() + 2_000);
      await assert.rejects(iota(putEvents).withIota(command(), {}, { func: () => "busy" }), EventInProgressError);
      // Lambda's first retry comes a minute later, well past the deadline.
      now = new Date(now.getTime() + 60_000);
      assert.equal(await iota(putEvents).withIota(command(), {}, { func: () => "retried" }), "retried");
    });

    it("lets a committed entry expire after the retention once nothing is left to send, and never before", async () => {
      let failing = true;
      const { putEvents } = recorder((entries) =>
        failing
          ? { FailedEntryCount: entries.length, Entries: entries.map(() => ({ ErrorCode: "InternalFailure" })) }
          : { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) },
      );
      const fifteenDays = 15 * 24 * 3600 * 1000;
      await iota(putEvents).withIota(command("quiet"), {}, { func: () => "no events" });
      assert.equal(store.entry({ ...key, cloudeventId: "quiet" })?.expiresAt?.getTime(), now.getTime() + fifteenDays, "15 days by default");
      await assert.rejects(
        iota(putEvents, { emitRetries: 0 }).withIota(command(), {}, { func: ({ rapids }) => void rapids.stage({ type: "fct.a.v0" }) }),
        UnsentEventsError,
      );
      assert.equal(store.entry(key)?.expiresAt, undefined, "an entry with unsent events does not expire");
      failing = false;
      now = new Date(now.getTime() + 1000);
      assert.equal(await iota(putEvents, { retentionMs: 1000 }).withIota(command(), {}, { func: () => "never" }), SKIPPED);
      assert.equal(store.entry(key)?.expiresAt?.getTime(), now.getTime() + 1000);
    });
  });

  describe("retention and old events", () => {
    const DAY = 24 * 3600 * 1000;
    const key = { cloudeventId: "evt-1", source: "tests", type: "cmd.record.create.v0", serviceId: "records.test" };
    const at = (day: number) => new Date(Date.parse("2026-01-01T00:00:00Z") + day * DAY);
    /** The command as its producer stamped it on day 0. */
    const stamped = () => ({ ...command(), time: at(0).toISOString() });
    let warnings: { message: string; details: Record<string, unknown> }[];
    beforeEach(() => (warnings = []));
    const engine = (putEvents: PutEvents, options: Partial<IotaOptions> = {}) =>
      iota(putEvents, { warn: (message, details) => warnings.push({ message, details }), ...options });
    const applyCount = () => store.collection("records").size;
    const func = ({ mutation }: FuncContext<unknown>) => void mutation.stage({ action: CREATE, table: "records", props: { n: 1 } });

    it("skips a duplicate redriven from the dead-letter queue on day 8, and on day 14: the entry outlives the queue", async () => {
      const { putEvents } = recorder();
      await engine(putEvents).withIota(stamped(), {}, { func });
      for (const day of [8, 14]) {
        now = at(day);
        store.expire(now);
        assert.equal(await engine(putEvents).withIota(stamped(), {}, { func }), SKIPPED, `day ${day}`);
      }
      assert.equal(applyCount(), 1, "applied once");
      assert.deepEqual(warnings, []);
    });

    it("applies an event first delivered on day 14, from the dead-letter queue", async () => {
      const { putEvents } = recorder();
      now = at(14);
      assert.notEqual(await engine(putEvents).withIota(stamped(), {}, { func }), SKIPPED);
      assert.equal(applyCount(), 1);
    });

    it("refuses an event older than the retention as SKIPPED, with a log naming it and its age, once its entry may have expired", async () => {
      const { putEvents } = recorder();
      await engine(putEvents).withIota(stamped(), {}, { func });
      now = at(16);
      store.expire(now);
      assert.equal(store.entry(key), undefined, "the TTL index removed the entry after 15 days");
      store.calls.length = 0;
      assert.equal(await engine(putEvents).withIota(stamped(), {}, { func }), SKIPPED);
      assert.equal(applyCount(), 1, "not applied twice");
      assert.deepEqual(store.calls, ["find"], "nothing is written for it");
      assert.deepEqual(warnings, [
        {
          message: "cloudevent older than the journal's retention refused as SKIPPED: it may have been applied already",
          details: {
            cloudeventId: "evt-1",
            source: "tests",
            type: "cmd.record.create.v0",
            serviceId: "records.test",
            ageDays: 16,
            retentionDays: 15,
          },
        },
      ]);
    });

    it("reads the age from the EventBridge envelope's time when the CloudEvent has none, and checks nothing when neither has one", async () => {
      const { putEvents } = recorder();
      now = at(20);
      assert.equal(await engine(putEvents).withIota({ ...viaEventBridge(command()), time: at(0).toISOString() }, {}, { func }), SKIPPED);
      assert.equal(warnings[0].details.ageDays, 20);
      assert.notEqual(await engine(putEvents).withIota(command(), {}, { func }), SKIPPED);
      assert.equal(applyCount(), 1);
    });

    it("still resends the unsent events of an old event whose entry is kept (an entry with unsent events never expires)", async () => {
      let failing = true;
      const { putEvents, calls } = recorder((entries) =>
        failing
          ? { FailedEntryCount: entries.length, Entries: entries.map(() => ({ ErrorCode: "InternalFailure" })) }
          : { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) },
      );
      await assert.rejects(
        engine(putEvents, { emitRetries: 0 }).withIota(stamped(), {}, { func: ({ rapids }) => void rapids.stage({ type: "fct.a.v0" }) }),
        UnsentEventsError,
      );
      failing = false;
      calls.length = 0;
      now = at(30);
      store.expire(now);
      assert.equal(await engine(putEvents).withIota(stamped(), {}, { func }), SKIPPED);
      assert.deepEqual(
        calls.map((c) => c.map((e) => JSON.parse(e.Detail).type)),
        [["fct.a.v0"]],
      );
      assert.deepEqual(warnings, []);
    });
  });

  describe("unset attributes", () => {
    const key = { cloudeventId: "evt-1", source: "tests", type: "cmd.record.create.v0", serviceId: "records.test" };

    it("stores the event's unset attributes and its staged events' as null, as with-iota did, and sends them without", async () => {
      let failing = true;
      const { putEvents, calls } = recorder((entries) =>
        failing
          ? { FailedEntryCount: entries.length, Entries: entries.map(() => ({ ErrorCode: "InternalFailure" })) }
          : { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) },
      );
      const event = { ...command(), subject: undefined, actor: undefined };
      await assert.rejects(
        iota(putEvents, { emitRetries: 0 }).withIota(event, {}, { func: ({ rapids }) => void rapids.stage({ type: "fct.bare.v0" }) }),
        UnsentEventsError,
      );
      const entry = store.entry(key)!;
      assert.deepEqual(entry.cloudevent, { ...command(), subject: null, actor: null }, "the event as it came, undefined as null");
      const [rapid] = entry.rapids!;
      assert.deepEqual(Object.keys(rapid), [
        "data",
        "datacontenttype",
        "dataschema",
        "id",
        "source",
        "specversion",
        "subject",
        "time",
        "type",
        "actor",
        "wschannelid",
        "originid",
        "originsource",
        "origintime",
        "origintype",
      ]);
      for (const name of ["data", "datacontenttype", "dataschema", "subject", "actor", "wschannelid"])
        assert.equal(rapid[name], null, name);

      const firstSend = JSON.parse(calls[0][0].Detail);
      assert.deepEqual(Object.keys(firstSend).sort(), [
        "id",
        "originid",
        "originsource",
        "origintime",
        "origintype",
        "source",
        "specversion",
        "time",
        "type",
      ]);
      failing = false;
      calls.length = 0;
      assert.equal(await iota(putEvents).withIota(command(), {}, { func: () => "never" }), SKIPPED);
      assert.deepEqual(JSON.parse(calls[0][0].Detail), firstSend, "resent from the journal as it was first sent");
    });
  });

  describe("events after commit", () => {
    it("puts staged events only after the commit, 10 per request", async () => {
      let committedWhenSent = -1;
      const { putEvents, calls } = recorder((entries) => {
        committedWhenSent = store.commits;
        return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) };
      });
      await iota(putEvents).withIota(
        command(),
        {},
        {
          func: ({ rapids }) => {
            for (let i = 0; i < 23; i++) rapids.stage({ type: "fct.tick.v0", data: { i } });
          },
        },
      );
      assert.deepEqual(
        calls.map((c) => c.length),
        [10, 10, 3],
      );
      assert.equal(committedWhenSent, 1);
      assert.deepEqual([...store.journal.values()][0].outbox, []);
    });

    it("retries only the entries EventBridge failed, with backoff", async () => {
      const { putEvents, calls } = recorder((entries, call) =>
        call === 1
          ? {
              FailedEntryCount: 2,
              Entries: entries.map((_, i) =>
                i === 1 || i === 3 ? { ErrorCode: "ThrottlingException", ErrorMessage: "slow down" } : { EventId: `e${i}` },
              ),
            }
          : { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `r${i}` })) },
      );
      await iota(putEvents).withIota(
        command(),
        {},
        {
          func: ({ rapids }) => {
            for (let i = 0; i < 5; i++) rapids.stage({ type: "fct.tick.v0", data: { i } });
          },
        },
      );
      assert.deepEqual(
        calls.map((c) => c.length),
        [5, 2],
      );
      assert.deepEqual(
        calls[1].map((e) => JSON.parse(JSON.parse(e.Detail).data).i),
        [1, 3],
      );
      assert.deepEqual([...store.journal.values()][0].outbox, []);
    });

    it("keeps what is still unsent in the outbox and throws; a retry sends only that and applies nothing again", async () => {
      let failing = true;
      const { putEvents, calls } = recorder((entries) =>
        failing
          ? { FailedEntryCount: entries.length, Entries: entries.map(() => ({ ErrorCode: "InternalFailure", ErrorMessage: "down" })) }
          : { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) },
      );
      const func = ({ mutation, rapids }: FuncContext<unknown>) => {
        mutation.stage({ action: CREATE, table: "records", id: "r1", props: { n: 1 } });
        rapids.stage({ type: "fct.a.v0" });
        rapids.stage({ type: "fct.b.v0" });
        return "applied";
      };
      await assert.rejects(
        iota(putEvents, { emitRetries: 2 }).withIota(command(), {}, { func }),
        (err: unknown) => err instanceof UnsentEventsError && err.unsent.length === 2 && /InternalFailure: down/.test(err.message),
      );
      assert.equal(calls.length, 3, "first attempt and 2 retries");
      assert.equal(store.commits, 1);
      assert.equal([...store.journal.values()][0].outbox!.length, 2);

      failing = false;
      calls.length = 0;
      let ran = false;
      const retried = await iota(putEvents).withIota(command(), {}, { func: () => void (ran = true) });
      assert.equal(retried, SKIPPED);
      assert.equal(ran, false, "the function does not run again");
      assert.equal(store.commits, 1, "nothing is applied again");
      assert.deepEqual(
        calls.map((c) => c.map((e) => JSON.parse(e.Detail).type)),
        [["fct.a.v0", "fct.b.v0"]],
      );
      assert.equal(store.collection("records").size, 1);
    });

    it("emits nothing when the function throws (with-iota emitted what was staged)", async () => {
      const { putEvents, calls } = recorder();
      await assert.rejects(
        iota(putEvents).withIota(
          command(),
          {},
          {
            func: ({ rapids }) => {
              rapids.stage({ type: "fct.a.v0" });
              throw new Error("boom");
            },
          },
        ),
        /boom/,
      );
      assert.equal(calls.length, 0);
      assert.equal(store.commits, 0);
    });

    it("emits nothing and applies nothing when the commit fails midway", async () => {
      const { putEvents, calls } = recorder();
      store.failCommitAfter = 1;
      await assert.rejects(
        iota(putEvents).withIota(
          command(),
          {},
          {
            func: ({ mutation, rapids }) => {
              mutation.stage({ action: CREATE, table: "records", id: "r1" });
              mutation.stage({ action: CREATE, table: "records", id: "r2" });
              rapids.stage({ type: "fct.a.v0" });
            },
          },
        ),
        /injected commit failure/,
      );
      assert.equal(calls.length, 0);
      assert.equal(store.collection("records").size, 0);
      assert.equal([...store.journal.values()][0].service.endedAt, null);
    });

    it("refuses an event larger than EventBridge takes before anything commits", async () => {
      const { putEvents, calls } = recorder();
      await assert.rejects(
        iota(putEvents).withIota(
          command(),
          {},
          {
            func: ({ mutation, rapids }) => {
              mutation.stage({ action: CREATE, table: "records", id: "r1" });
              rapids.stage({ type: "fct.big.v0", data: "x".repeat(MAX_ENTRY_BYTES) });
            },
          },
        ),
        (err: Error) => err instanceof IotaInputError && /bytes; EventBridge takes at most 262144/.test(err.message),
      );
      assert.equal(store.commits, 0);
      assert.equal(calls.length, 0);
      assert.equal(store.collection("records").size, 0);
    });
  });

  describe("duplicates", () => {
    const entry = (endedAt: string | null, lease?: Date, outbox?: string[]): JournalEntry => ({
      cloudevent: command(),
      service: { id: "records.test", startedAt: now.toISOString(), endedAt },
      mutations: null,
      rapids: null,
      ...(lease ? { lease: { owner: "o", expiresAt: lease } } : {}),
      ...(outbox ? { outbox } : {}),
    });

    it("decides from the entry: busy, take over, resend or skip", () => {
      const later = new Date(now.getTime() + 1000);
      const earlier = new Date(now.getTime() - 1000);
      assert.equal(decide(entry(null, later), now), "busy");
      assert.equal(decide(entry(null, earlier), now), "take-over");
      assert.equal(decide(entry("t"), now), "skip");
      assert.equal(decide(entry("t", later, []), now), "skip");
      assert.equal(decide(entry("t", earlier, ["e"]), now), "resend");
      assert.equal(decide(entry("t", later, ["e"]), now), "busy");
    });

    it("fails a concurrent duplicate with a retryable error while the first holds the lease, then skips it after the commit", async () => {
      const { putEvents } = recorder();
      let release!: () => void;
      const first = iota(putEvents).withIota(
        command(),
        {},
        {
          func: async ({ mutation }) => {
            await new Promise<void>((r) => (release = r));
            mutation.stage({ action: CREATE, table: "records", id: "r1" });
            return "first";
          },
        },
      );
      await new Promise((r) => setImmediate(r));
      await assert.rejects(
        iota(putEvents).withIota(command(), {}, { func: () => "second" }),
        (err: unknown) => err instanceof EventInProgressError && (err as EventInProgressError).retryable,
      );
      release();
      assert.equal(await first, "first");
      assert.equal(await iota(putEvents).withIota(command(), {}, { func: () => "third" }), SKIPPED);
      assert.equal(store.collection("records").size, 1);
    });

    it("runs a duplicate when the first failed", async () => {
      const { putEvents } = recorder();
      await assert.rejects(
        iota(putEvents).withIota(
          command(),
          {},
          {
            func: () => {
              throw new Error("first failed");
            },
          },
        ),
        /first failed/,
      );
      assert.equal(await iota(putEvents).withIota(command(), {}, { func: () => "second" }), "second");
    });

    it("keys the journal on id, source, type and service: the same id from another source is another event", async () => {
      const { putEvents } = recorder();
      assert.equal(await iota(putEvents).withIota(command("same"), {}, { func: () => 1 }), 1);
      assert.equal(await iota(putEvents).withIota({ ...command("same"), source: "elsewhere" }, {}, { func: () => 2 }), 2);
      assert.equal(await iota(putEvents).withIota({ ...command("same"), type: "cmd.other.v0" }, {}, { func: () => 3 }), 3);
      assert.equal(await iota(putEvents, { serviceId: "another.service" }).withIota(command("same"), {}, { func: () => 4 }), 4);
      assert.equal(store.journal.size, 4);
    });

    it("creates the journal indexes once per container, not on every call", async () => {
      const { putEvents } = recorder();
      const engine = iota(putEvents);
      for (let i = 0; i < 3; i++) await engine.withIota(command(`e${i}`), {}, { func: () => i });
      assert.equal(store.indexCalls, 1);
    });
  });

  describe("with-iota's e2e run, asserted (in memory)", () => {
    it("applies events 1-4 once each across 20 concurrent invocations, leaves no entry for the throwing event 0, and sends each staged event once", async function () {
      this.timeout(30_000);
      const sent: string[] = [];
      const engine = () =>
        new Iota({
          serviceId: "some-service-id",
          eventBusName: "bus",
          store,
          emitBackoffMs: () => 1,
          putEvents: async (entries) => {
            sent.push(...entries.map((e) => JSON.parse(e.Detail).type));
            return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) };
          },
        });
      assertWithIotaE2eOutcome(await runWithIotaE2e(engine, sent));
      assert.equal(store.collection("featureFlags").size, 0, "each flag is created, counted, set and deleted: none is left");
      const entries = [...store.journal.values()];
      for (const id of ["1", "2", "3", "4"]) {
        const committed = entries.filter((e) => e.cloudevent.id === id);
        assert.equal(committed.length, 1);
        assert.notEqual(committed[0].service.endedAt, null);
        assert.deepEqual(
          committed[0].mutations?.map((m) => m.action),
          ["create", "increment", "increment", "increment", "set", "delete"],
        );
        assertJournalNulls(committed[0]);
      }
      assert.ok(
        entries.filter((e) => e.cloudevent.id === "0").every((e) => e.service.endedAt === null),
        "event 0 leaves no committed entry",
      );
    });
  });
});

describe("iota-records service", () => {
  it("creates a record, counts it on its company and announces it, once per command", async () => {
    const store = new MemoryStore();
    store.collection("companies").set("acme", { id: "acme", recordCount: 2 });
    const sent: string[] = [];
    const engine = new Iota({
      serviceId: "records.tributary",
      eventBusName: "bus",
      store,
      putEvents: async (entries) => {
        sent.push(...entries.map((e) => e.Detail));
        return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) };
      },
    });
    const event = {
      id: "cmd-1",
      source: "web",
      type: "cmd.record.create.v0",
      datacontenttype: "application/json",
      data: JSON.stringify({ companyId: "acme", name: "Q3 report" }),
    };
    const { id } = (await engine.withIota(event, {}, { func: createRecord })) as { id: string };
    assert.equal(await engine.withIota(event, {}, { func: createRecord }), SKIPPED);
    assert.deepEqual(store.collection("records").get(id), { companyId: "acme", name: "Q3 report", id });
    assert.equal(store.collection("companies").get("acme")?.recordCount, 3);
    assert.equal(sent.length, 1);
    const announced = JSON.parse(sent[0]);
    assert.equal(announced.type, "fct.record.created.v0");
    assert.deepEqual(JSON.parse(announced.data), { id, companyId: "acme", name: "Q3 report" });
    await assert.rejects(
      engine.withIota({ ...event, id: "cmd-2", data: JSON.stringify({ name: "x" }) }, {}, { func: createRecord }),
      /companyId/,
    );
  });

  it("accepts the sample command payloads/iota/record-created.json as it is, and as `npm run event -- eventbridge` wraps it", async () => {
    const fixture = readPayload("iota", "record-created.json");
    // The handler's schema: a CloudEvent (id, source, type), and the command's data.
    assert.equal(cloudEventOf(fixture).type, "cmd.record.create.v0");
    assert.equal(fixture.time, undefined, "no time: an event older than the retention is refused, and the sample must never age");
    const wrapped = await runScript("events/wrap", [
      "eventbridge",
      "--detail",
      payloadPath("iota", "record-created.json"),
      "--detail-type",
      CLOUDEVENT_DETAIL_TYPE,
    ]);
    assert.equal(wrapped.code, 0, wrapped.stderr);
    for (const event of [fixture, JSON.parse(wrapped.stdout)]) {
      const store = new MemoryStore();
      // An increment changes a company that exists only, as MongoDB's updateOne does.
      store.collection("companies").set("acme", { id: "acme", recordCount: 0 });
      const sent: { type: string; data: string; originid: string }[] = [];
      const engine = new Iota({
        serviceId: "records.local",
        eventBusName: "bus",
        store,
        putEvents: async (entries) => {
          sent.push(...entries.map((e) => JSON.parse(e.Detail)));
          return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) };
        },
      });
      const { id } = (await engine.withIota(event, {}, { func: createRecord })) as { id: string };
      assert.deepEqual(store.collection("records").get(id), { companyId: "acme", name: "Q3 report", id });
      assert.equal(store.collection("companies").get("acme")?.recordCount, 1);
      assert.deepEqual(
        sent.map((e) => [e.type, JSON.parse(e.data), e.originid]),
        [["fct.record.created.v0", { id, companyId: "acme", name: "Q3 report" }, fixture.id]],
      );
      assert.equal(await engine.withIota(event, {}, { func: createRecord }), SKIPPED, "the same command again is skipped");
    }
  });
});
