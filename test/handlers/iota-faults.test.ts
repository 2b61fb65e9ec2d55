/** Bad input and faults of the iota engine (the records service): see test/helpers/faults.ts. */
import * as assert from "node:assert/strict";
import { Iota } from "../../handlers/iota/engine";
import { createRecord } from "../../handlers/iota/records";
import { MemoryStore } from "../../tooling/local/iota-memory-store";
import { type BadInput, OVERSIZED, WEIRD_ID } from "../helpers/faults";

describe("bad input and faults", function () {
  this.timeout(60_000);
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
