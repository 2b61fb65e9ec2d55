import * as assert from "node:assert/strict";
import { CLOUDEVENT_DETAIL_TYPE, IotaInputError, MAX_ENTRY_BYTES } from "../../handlers/lib/iota/cloudevents";
import {
  CREATE,
  decide,
  DELETE,
  EventInProgressError,
  INCREMENT,
  Iota,
  type IotaOptions,
  type PutEvents,
  type PutEventsResult,
  SET,
  SKIPPED,
  UnsentEventsError,
} from "../../handlers/lib/iota/engine";
import { createRecord } from "../../handlers/iota-records/records";
import { MemoryStore } from "../helpers/iota-memory-store";

const command = (id = "evt-1", data: unknown = { companyId: "c1", name: "r" }) => ({
  specversion: "1.0",
  id,
  source: "tests",
  type: "cmd.record.create.v0",
  datacontenttype: "application/json",
  data: JSON.stringify(data),
});
const viaEventBridge = (cloudevent: unknown) => ({ version: "0", id: "eb-1", "detail-type": CLOUDEVENT_DETAIL_TYPE, source: "tests", detail: cloudevent });

/** A PutEvents stand-in that records each request and answers from a script. */
function recorder(answer: (entries: unknown[], call: number) => PutEventsResult = (entries) => ({
  FailedEntryCount: 0,
  Entries: entries.map((_, i) => ({ EventId: `eb-${i}` })),
})) {
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
      assert.deepEqual(seen.map(([ce, data]: any) => [ce.id, data]), [
        ["a", { companyId: "c1", name: "r" }],
        ["b", { companyId: "c1", name: "r" }],
      ]);
    });

    it("needs string id, source and type, naming the bad one", async () => {
      const { putEvents } = recorder();
      for (const [event, message] of [
        [{ ...command(), id: 5 }, /event\.id must be a non-empty string \(got 5\)/],
        [viaEventBridge({ ...command(), source: undefined }), /event\.detail\.source must be a non-empty string/],
        [{}, /event\.id/],
        [null, /event\.id/],
      ] as const) {
        await assert.rejects(iota(putEvents).withIota(event, {}, { func: () => "never" }), (err: Error) => err instanceof IotaInputError && message.test(err.message));
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

  describe("staging", () => {
    it("applies CREATE (with a generated id), SET, INCREMENT and DELETE in order, matched on id, with type as an alias of table", async () => {
      const { putEvents } = recorder();
      store.collection("companies").set("c1", { id: "c1", recordCount: 1 });
      store.collection("old").set("x", { id: "x" });
      const result = await iota(putEvents).withIota(command(), {}, {
        func: ({ mutation }) => {
          const created = mutation.stage({ action: CREATE, table: "records", props: { name: "r" } });
          mutation.stage({ action: SET, type: "records", id: created.id, props: { name: "renamed" } });
          mutation.stage({ action: INCREMENT, table: "companies", id: "c1", props: { recordCount: 2 } });
          mutation.stage({ action: DELETE, table: "old", id: "x" });
          return created;
        },
      });
      assert.match((result as { id: string }).id, /^[0-9a-f-]{36}$/);
      assert.deepEqual([...store.collection("records").values()], [{ name: "renamed", id: (result as { id: string }).id }]);
      assert.equal(store.collection("companies").get("c1")?.recordCount, 3);
      assert.equal(store.collection("old").size, 0);
    });

    it("refuses a bad mutation with a clear error, and applies nothing", async () => {
      const { putEvents } = recorder();
      for (const [stage, message] of [
        [{ action: "UPSERT", table: "t" }, /action must be one of CREATE, DELETE, INCREMENT, SET/],
        [{ action: SET, table: "t" }, /SET needs an id/],
        [{ action: CREATE }, /table \(or its alias type\)/],
        [{ action: CREATE, table: "t", props: [1] }, /props must be an object/],
      ] as const) {
        await assert.rejects(
          iota(putEvents).withIota(command(`bad-${String(message)}`), {}, { func: ({ mutation }) => mutation.stage(stage as never) }),
          message,
        );
      }
      assert.equal(store.commits, 0);
    });

    it("stages CloudEvents 1.0 from the service that point at their origin", async () => {
      const { putEvents, calls } = recorder();
      await iota(putEvents).withIota(command("origin-1"), {}, {
        func: ({ rapids }) => rapids.stage({ type: "fct.record.created.v0", data: { id: "r1" }, subject: "records/r1" }),
      });
      const [[entry]] = calls as any;
      assert.equal(entry.EventBusName, "iota-bus");
      assert.equal(entry.Source, "records.test");
      assert.equal(entry.DetailType, "application/cloudevents+json");
      const event = JSON.parse(entry.Detail);
      assert.equal(event.specversion, "1.0");
      assert.match(event.id, /^[0-9a-f-]{36}$/);
      assert.equal(event.source, "records.test");
      assert.equal(event.type, "fct.record.created.v0");
      assert.equal(event.time, "2026-01-01T00:00:00.000Z");
      assert.equal(event.datacontenttype, "application/json");
      assert.equal(event.data, '{"id":"r1"}');
      assert.equal(event.subject, "records/r1");
      assert.deepEqual([event.originid, event.originsource, event.origintype], ["origin-1", "tests", "cmd.record.create.v0"]);
    });

    it("gives the read helpers (collection, ...args)", async () => {
      const { putEvents } = recorder();
      store.collection("companies").set("c1", { id: "c1", name: "Acme" });
      const read = await iota(putEvents).withIota(command(), {}, {
        func: async ({ findOne, countDocuments }) => [await findOne("companies", { id: "c1" }), await countDocuments("companies")],
      });
      assert.deepEqual(read, [{ id: "c1", name: "Acme" }, 1]);
    });
  });

  describe("events after commit", () => {
    it("puts staged events only after the commit, 10 per request", async () => {
      let committedWhenSent = -1;
      const { putEvents, calls } = recorder((entries) => {
        committedWhenSent = store.commits;
        return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) };
      });
      await iota(putEvents).withIota(command(), {}, {
        func: ({ rapids }) => {
          for (let i = 0; i < 23; i++) rapids.stage({ type: "fct.tick.v0", data: { i } });
        },
      });
      assert.deepEqual(calls.map((c) => c.length), [10, 10, 3]);
      assert.equal(committedWhenSent, 1);
      assert.ok([...store.journal.values()][0].outbox!.every((e) => e.sent));
    });

    it("retries only the entries EventBridge failed, with backoff, and marks each sent", async () => {
      const { putEvents, calls } = recorder((entries, call) =>
        call === 1
          ? {
              FailedEntryCount: 2,
              Entries: entries.map((_, i) => (i === 1 || i === 3 ? { ErrorCode: "ThrottlingException", ErrorMessage: "slow down" } : { EventId: `e${i}` })),
            }
          : { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `r${i}` })) },
      );
      await iota(putEvents).withIota(command(), {}, {
        func: ({ rapids }) => {
          for (let i = 0; i < 5; i++) rapids.stage({ type: "fct.tick.v0", data: { i } });
        },
      });
      assert.deepEqual(calls.map((c) => c.length), [5, 2]);
      assert.deepEqual(calls[1].map((e) => JSON.parse(JSON.parse(e.Detail).data).i), [1, 3]);
      assert.ok([...store.journal.values()][0].outbox!.every((e) => e.sent));
    });

    it("keeps what is still unsent in the outbox and throws; a retry sends only that and applies nothing again", async () => {
      let failing = true;
      const { putEvents, calls } = recorder((entries) =>
        failing
          ? { FailedEntryCount: entries.length, Entries: entries.map(() => ({ ErrorCode: "InternalFailure", ErrorMessage: "down" })) }
          : { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) },
      );
      const func = ({ mutation, rapids }: any) => {
        mutation.stage({ action: CREATE, table: "records", id: "r1", props: { n: 1 } });
        rapids.stage({ type: "fct.a.v0" });
        rapids.stage({ type: "fct.b.v0" });
        return "applied";
      };
      await assert.rejects(iota(putEvents, { emitRetries: 2 }).withIota(command(), {}, { func }), (err: unknown) => err instanceof UnsentEventsError && err.unsent.length === 2 && /InternalFailure: down/.test(err.message));
      assert.equal(calls.length, 3, "first attempt and 2 retries");
      assert.equal(store.commits, 1);
      assert.equal([...store.journal.values()][0].outbox!.filter((e) => !e.sent).length, 2);

      failing = false;
      calls.length = 0;
      let ran = false;
      const retried = await iota(putEvents).withIota(command(), {}, { func: () => void (ran = true) });
      assert.equal(retried, SKIPPED);
      assert.equal(ran, false, "the function does not run again");
      assert.equal(store.commits, 1, "nothing is applied again");
      assert.deepEqual(calls.map((c) => c.map((e) => JSON.parse(e.Detail).type)), [["fct.a.v0", "fct.b.v0"]]);
      assert.equal(store.collection("records").size, 1);
    });

    it("emits nothing when the function throws", async () => {
      const { putEvents, calls } = recorder();
      await assert.rejects(
        iota(putEvents).withIota(command(), {}, {
          func: ({ rapids }) => {
            rapids.stage({ type: "fct.a.v0" });
            throw new Error("boom");
          },
        }),
        /boom/,
      );
      assert.equal(calls.length, 0);
      assert.equal(store.commits, 0);
    });

    it("emits nothing and applies nothing when the commit fails midway", async () => {
      const { putEvents, calls } = recorder();
      store.failCommitAfter = 1;
      await assert.rejects(
        iota(putEvents).withIota(command(), {}, {
          func: ({ mutation, rapids }) => {
            mutation.stage({ action: CREATE, table: "records", id: "r1" });
            mutation.stage({ action: CREATE, table: "records", id: "r2" });
            rapids.stage({ type: "fct.a.v0" });
          },
        }),
        /injected commit failure/,
      );
      assert.equal(calls.length, 0);
      assert.equal(store.collection("records").size, 0);
      assert.equal([...store.journal.values()][0].status, "pending");
    });

    it("refuses an event larger than EventBridge takes before anything commits", async () => {
      const { putEvents, calls } = recorder();
      await assert.rejects(
        iota(putEvents).withIota(command(), {}, {
          func: ({ mutation, rapids }) => {
            mutation.stage({ action: CREATE, table: "records", id: "r1" });
            rapids.stage({ type: "fct.big.v0", data: "x".repeat(MAX_ENTRY_BYTES) });
          },
        }),
        (err: Error) => err instanceof IotaInputError && /bytes; EventBridge takes at most 262144/.test(err.message),
      );
      assert.equal(store.commits, 0);
      assert.equal(calls.length, 0);
      assert.equal(store.collection("records").size, 0);
    });
  });

  describe("duplicates and leases", () => {
    it("decides from the entry: claim, busy, take over, resend or skip", () => {
      const later = new Date(now.getTime() + 1000);
      const earlier = new Date(now.getTime() - 1000);
      assert.equal(decide(undefined, now), "claim");
      assert.equal(decide({ status: "pending", leaseExpiresAt: later }, now), "busy");
      assert.equal(decide({ status: "pending", leaseExpiresAt: earlier }, now), "take-over");
      assert.equal(decide({ status: "committed", outbox: [] }, now), "skip");
      assert.equal(decide({ status: "committed", outbox: [{ eventId: "e", sent: true, entry: {} as never }] }, now), "skip");
      assert.equal(decide({ status: "committed", leaseExpiresAt: earlier, outbox: [{ eventId: "e", sent: false, entry: {} as never }] }, now), "resend");
      assert.equal(decide({ status: "committed", leaseExpiresAt: later, outbox: [{ eventId: "e", sent: false, entry: {} as never }] }, now), "busy");
    });

    it("fails a concurrent duplicate with a retryable error while the first holds the lease, then skips it after the commit", async () => {
      const { putEvents } = recorder();
      let release!: () => void;
      const first = iota(putEvents).withIota(command(), {}, {
        func: async ({ mutation }) => {
          await new Promise<void>((r) => (release = r));
          mutation.stage({ action: CREATE, table: "records", id: "r1" });
          return "first";
        },
      });
      await new Promise((r) => setImmediate(r));
      await assert.rejects(iota(putEvents).withIota(command(), {}, { func: () => "second" }), (err: unknown) => err instanceof EventInProgressError && (err as EventInProgressError).retryable);
      release();
      assert.equal(await first, "first");
      assert.equal(await iota(putEvents).withIota(command(), {}, { func: () => "third" }), SKIPPED);
      assert.equal(store.collection("records").size, 1);
    });

    it("runs a duplicate when the first failed", async () => {
      const { putEvents } = recorder();
      await assert.rejects(iota(putEvents).withIota(command(), {}, { func: () => { throw new Error("first failed"); } }), /first failed/);
      assert.equal(await iota(putEvents).withIota(command(), {}, { func: () => "second" }), "second");
    });

    it("takes over an event whose holder's lease expired (a crashed invocation)", async () => {
      const { putEvents } = recorder();
      await store.insertPending({ cloudeventId: "evt-1", source: "tests", type: "cmd.record.create.v0", serviceId: "records.test" }, "crashed", new Date(now.getTime() + 60_000));
      await assert.rejects(iota(putEvents).withIota(command(), {}, { func: () => "too early" }), EventInProgressError);
      now = new Date(now.getTime() + 61_000);
      assert.equal(await iota(putEvents).withIota(command(), {}, { func: () => "took over" }), "took over");
    });

    it("keys the journal on id, source, type and service: the same id from another source is another event", async () => {
      const { putEvents } = recorder();
      assert.equal(await iota(putEvents).withIota(command("same"), {}, { func: () => 1 }), 1);
      assert.equal(await iota(putEvents).withIota({ ...command("same"), source: "elsewhere" }, {}, { func: () => 2 }), 2);
      assert.equal(await iota(putEvents).withIota({ ...command("same"), type: "cmd.other.v0" }, {}, { func: () => 3 }), 3);
      assert.equal(await iota(putEvents, { serviceId: "another.service" }).withIota(command("same"), {}, { func: () => 4 }), 4);
      assert.equal(store.journal.size, 4);
    });

    it("creates the journal index once per container, not on every call", async () => {
      const { putEvents } = recorder();
      const engine = iota(putEvents);
      for (let i = 0; i < 3; i++) await engine.withIota(command(`e${i}`), {}, { func: () => i });
      assert.equal(store.indexCalls, 1);
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
    const event = { id: "cmd-1", source: "web", type: "cmd.record.create.v0", datacontenttype: "application/json", data: JSON.stringify({ companyId: "acme", name: "Q3 report" }) };
    const { id } = (await engine.withIota(event, {}, { func: createRecord })) as { id: string };
    assert.equal(await engine.withIota(event, {}, { func: createRecord }), SKIPPED);
    assert.deepEqual(store.collection("records").get(id), { companyId: "acme", name: "Q3 report", id });
    assert.equal(store.collection("companies").get("acme")?.recordCount, 3);
    assert.equal(sent.length, 1);
    const announced = JSON.parse(sent[0]);
    assert.equal(announced.type, "fct.record.created.v0");
    assert.deepEqual(JSON.parse(announced.data), { id, companyId: "acme", name: "Q3 report" });
    await assert.rejects(engine.withIota({ ...event, id: "cmd-2", data: JSON.stringify({ name: "x" }) }, {}, { func: createRecord }), /companyId/);
  });
});
