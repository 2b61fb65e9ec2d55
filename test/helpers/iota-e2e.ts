/**
 * The expectations of with-iota's e2e run (e2e.test.js in 1Mill/with-iota, v1.0.0), ported:
 * 20 concurrent invocations of 5 events (ids `i % 5`); the event `'0'` throws before it
 * stages anything; the others create a feature flag, increment its count three times, set a
 * field and delete it, and stage two events. With-iota only printed the outcome; here it is
 * asserted, against whichever store the engine is given (memory always, MongoDB when set).
 *
 * A duplicate that finds the event in progress gets a retryable error here (with-iota
 * skipped it); it is retried as Lambda would retry it, until it is applied or skipped.
 *
 * The events are built as the e2e run built them, `{...new Cloudevent({...}), id}`: every
 * attribute of @1mill/cloudevents v6 is there, the unset ones undefined.
 */
import * as assert from "node:assert/strict";
import { CLOUDEVENT_ATTRIBUTES } from "../../handlers/iota/cloudevents";
import { EventInProgressError, type Iota, type JournalEntry, MutationAction, SKIPPED } from "../../handlers/iota/engine";

export interface E2eOutcome {
  /** The result of each of the 20 invocations, once its retries are done. */
  results: unknown[];
  /** The types of the events sent, in the order PutEvents took them. */
  sent: string[];
}

const EXPECTED_ERROR = "This error is expected and is testing the JournalState.erase functionality.";

/** Runs the 20 invocations; `engine()` gives a new engine per invocation, as separate containers would have. */
export async function runWithIotaE2e(engine: () => Iota, sent: string[]): Promise<E2eOutcome> {
  const invoke = async (i: number): Promise<unknown> => {
    const time = new Date().toISOString();
    const cloudevent = {
      data: JSON.stringify({ name: `FF#${i}` }),
      datacontenttype: "application/json",
      dataschema: undefined,
      id: (i % 5).toString(),
      source: "some-source",
      specversion: "1.0",
      subject: undefined,
      time,
      type: "cmd.create-feature-flag.v0",
      actor: undefined,
      wschannelid: undefined,
      // The Cloudevent's own id, before the run replaced it.
      originid: `ce_e2e-${i}`,
      originsource: "some-source",
      origintime: time,
      origintype: "cmd.create-feature-flag.v0",
    };
    for (let attempt = 1; ; attempt++) {
      try {
        return await engine().withIota(
          cloudevent,
          {},
          {
            func: async ({ cloudevent: ce, data, mutation, rapids, findOne }) => {
              if (ce.id === "0") throw new Error(EXPECTED_ERROR);
              await new Promise((r) => setTimeout(r, Math.random() * 30));
              const { name } = data as { name: string };
              const { id } = mutation.stage({ action: MutationAction.CREATE, props: { name, enabled: false }, table: "featureFlags" });
              mutation.stage({ action: MutationAction.INCREMENT, id, props: { count: -1 }, table: "featureFlags" });
              mutation.stage({ action: MutationAction.INCREMENT, id, props: { count: -1 }, table: "featureFlags" });
              mutation.stage({ action: MutationAction.INCREMENT, id, props: { count: 2 }, table: "featureFlags" });
              mutation.stage({ action: MutationAction.SET, id, props: { hello: "world" }, table: "featureFlags" });
              mutation.stage({ action: MutationAction.DELETE, id, table: "featureFlags" });
              rapids.stage({ data: { id }, type: "cmd.do-something.v0" });
              rapids.stage({ data: { id }, type: "fct.feature-flag-created.v0" });
              await findOne("iotaJournalEntries", {});
              return `Created and then deleted feature flag ${name} (${id})`;
            },
          },
        );
      } catch (err) {
        // Lambda retries an invocation that failed; a busy duplicate is retried the same way.
        if (err instanceof EventInProgressError && attempt < 200) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        return err;
      }
    }
  };
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => invoke(i)));
  return { results, sent };
}

/** The outcome with-iota's run implies, asserted. */
export function assertWithIotaE2eOutcome({ results, sent }: E2eOutcome): void {
  for (let id = 0; id < 5; id++) {
    const forId = results.filter((_, i) => i % 5 === id);
    if (id === 0) {
      assert.ok(
        forId.every((r) => r instanceof Error && r.message === EXPECTED_ERROR),
        `every invocation of '0' fails: ${forId}`,
      );
      continue;
    }
    const applied = forId.filter((r) => typeof r === "string" && r.startsWith("Created and then deleted feature flag"));
    assert.equal(applied.length, 1, `event '${id}' is applied once: ${forId.join(" | ")}`);
    assert.equal(forId.filter((r) => r === SKIPPED).length, 3, `its three duplicates are skipped`);
  }
  // Each applied event staged two events, sent once each.
  assert.deepEqual([...sent].sort(), [
    "cmd.do-something.v0",
    "cmd.do-something.v0",
    "cmd.do-something.v0",
    "cmd.do-something.v0",
    "fct.feature-flag-created.v0",
    "fct.feature-flag-created.v0",
    "fct.feature-flag-created.v0",
    "fct.feature-flag-created.v0",
  ]);
}

/** A committed entry of the run stores its event and its staged events as with-iota stored them: every attribute, unset ones null. */
export function assertJournalNulls(entry: JournalEntry): void {
  const unset = ["dataschema", "subject", "actor", "wschannelid"];
  const sorted = [...CLOUDEVENT_ATTRIBUTES].sort();
  assert.deepEqual(Object.keys(entry.cloudevent).sort(), sorted);
  for (const name of unset) assert.equal(entry.cloudevent[name], null, `cloudevent.${name}`);
  assert.equal(entry.rapids?.length, 2);
  for (const rapid of entry.rapids ?? []) {
    assert.deepEqual(Object.keys(rapid).sort(), sorted);
    for (const name of unset) assert.equal(rapid[name], null, `rapids[].${name}`);
    assert.equal(rapid.originid, entry.cloudevent.originid, "the chain's root passes on");
  }
}
