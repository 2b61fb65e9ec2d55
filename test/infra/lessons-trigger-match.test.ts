/**
 * The trigger's match expression, evaluated by a real MongoDB server: Atlas runs it as a
 * `$match` stage on the change stream. Runs when MONGODB_URI is set (the GitHub workflow
 * starts one); reports itself as skipped otherwise.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { MongoClient } from "mongodb";
import { TRIGGER_MATCH } from "../../components/lessons/lesson-completion-sync";
import { payloadPath } from "../helpers/fixtures";

const uri = process.env.MONGODB_URI;

describe("lessons trigger match expression (MongoDB)", function () {
  this.timeout(30_000);
  let client: MongoClient | undefined;

  before(async function () {
    if (!uri) this.skip();
    client = await MongoClient.connect(uri!, { serverSelectionTimeoutMS: 10_000 });
  });
  after(async () => client?.close());

  it("keeps the updates that touched completedChallenges and drops the others", async () => {
    const fixture = JSON.parse(fs.readFileSync(payloadPath("atlas-trigger", "user_update_event.json"), "utf8"));
    const changes = client!.db(`tributary_test_${process.pid}`).collection("changes");
    try {
      await changes.insertMany([
        { _id: "fixture" as any, ...fixture.detail, updateDescription: fixture.detail.updateDescription },
        { _id: "array" as any, operationType: "update", updateDescription: { updatedFields: { completedChallenges: [{ id: "a" }] } } },
        { _id: "other" as any, operationType: "update", updateDescription: { updatedFields: { "progressTimestamps.40": 1 } } },
        { _id: "lookalike" as any, operationType: "update", updateDescription: { updatedFields: { completedChallengesCount: 3 } } },
      ]);
      const matched = await changes.aggregate([{ $match: TRIGGER_MATCH }, { $project: { _id: 1 } }]).toArray();
      assert.deepEqual(matched.map((d) => d._id).sort(), ["array", "fixture"]);
    } finally {
      await changes.db.dropDatabase();
    }
  });
});
