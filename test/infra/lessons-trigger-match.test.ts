/**
 * The trigger's match and project expressions, run on change events as Atlas runs them: a
 * `$match` stage, then a `$project` stage, on the change stream. Every run evaluates them with
 * mingo (MongoDB's query language in JavaScript); a real MongoDB server evaluates them too when
 * MONGODB_URI is set (the GitHub workflow starts one), and that part reports itself as skipped
 * otherwise.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { aggregate } from "mingo";
import { MongoClient } from "mongodb";
import { TRIGGER_MATCH, TRIGGER_PROJECT } from "../../apps/lessons/lesson-completion-sync";
import { userUpdateEvent } from "../../handlers/lessons/lesson-sync";
import { payloadPath } from "../helpers/fixtures";
import { mongoSuite, requireMongo } from "../helpers/mongodb";

const fixture = JSON.parse(fs.readFileSync(payloadPath("atlas-trigger", "user_update_event.json"), "utf8"));
/** The fixtures' test event (test_event.json), already trimmed by the project expression. */
const originalTest = JSON.parse(fs.readFileSync(payloadPath("atlas-trigger", "test_event.json"), "utf8"));
const user = {
  _id: "62cf39c9cf6d0b001b732b9a",
  email: "a@b.example",
  externalId: "auth0|1",
  username: "camper",
  completedChallenges: [{ id: "x" }],
  about: "",
};
const change = (_id: string, updatedFields: Record<string, unknown>) => ({
  _id,
  operationType: "update",
  clusterTime: { T: 1, I: 1 },
  fullDocument: user,
  ns: { db: "freecodecamp", coll: "user" },
  documentKey: { _id: user._id },
  updateDescription: { updatedFields, removedFields: [], truncatedArrays: [] },
});

/** The change events, each with its own `_id` (the fixture's resume token is replaced, not kept). */
const changes = () => [
  { ...fixture.detail, _id: "fixture" },
  { ...originalTest.detail, _id: "original-test" },
  change("element", { "completedChallenges.7": { id: "lesson-a", completedDate: 1 } }),
  change("array", { completedChallenges: [{ id: "a" }, { id: "b" }] }),
  change("other", { "progressTimestamps.40": 1 }),
  change("lookalike", { completedChallengesCount: 3 }),
  change("nothing", {}),
];
const MATCHED = ["array", "element", "fixture", "original-test"];
const pipeline = [{ $match: TRIGGER_MATCH }, { $project: TRIGGER_PROJECT }];

/** What Atlas sends for the events that pass: checks shared by both engines. */
function assertTriggerOutput(out: Record<string, any>[]) {
  assert.deepEqual(
    out.map((d) => d._id).sort(),
    MATCHED,
    "completedChallenges updates pass; others, and a field that only starts alike, do not",
  );
  const byId = Object.fromEntries(out.map((d) => [d._id, d]));
  assert.deepEqual(byId.fixture, {
    _id: "fixture",
    operationType: "update",
    fullDocument: { email: "chris.mccann@topcoder.com", externalId: "auth0|88778750", username: fixture.detail.fullDocument.username },
    updateDescription: { updatedFields: fixture.detail.updateDescription.updatedFields },
  });
  assert.deepEqual(byId["original-test"], { ...originalTest.detail, _id: "original-test" }, "an event already trimmed passes unchanged");
  assert.deepEqual(byId.array.updateDescription, { updatedFields: { completedChallenges: [{ id: "a" }, { id: "b" }] } });
  assert.deepEqual(
    Object.keys(byId.element.fullDocument).sort(),
    ["email", "externalId", "username"],
    "the rest of the user stays out of the event",
  );
  // What passes is what the handler reads.
  for (const detail of out) assert.ok(userUpdateEvent.safeParse({ "detail-type": "t", source: "s", detail }).success, String(detail._id));
}

describe("lessons trigger expressions (mingo)", () => {
  it("passes the updates that touched completedChallenges, trimmed to what the handler reads, and drops the others", () => {
    assertTriggerOutput(aggregate(changes(), pipeline) as Record<string, any>[]);
  });
});

describe(mongoSuite("lessons trigger expressions (MongoDB)"), function () {
  this.timeout(30_000);
  let client: MongoClient | undefined;

  before(async function () {
    client = await MongoClient.connect(requireMongo(this), { serverSelectionTimeoutMS: 10_000 });
  });
  after(async () => client?.close());

  it("passes the updates that touched completedChallenges, trimmed to what the handler reads, and drops the others", async () => {
    const collection = client!.db(`tributary_test_${process.pid}`).collection("changes");
    try {
      await collection.insertMany(changes() as any[]);
      assertTriggerOutput(await collection.aggregate(pipeline).toArray());
    } finally {
      await collection.db.dropDatabase();
    }
  });
});
