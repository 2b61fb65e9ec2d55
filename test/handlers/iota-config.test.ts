import * as assert from "node:assert/strict";
import * as path from "node:path";
import { MIN_JOURNAL_RETENTION_DAYS } from "../../config";
import { iotaConfigFromEnv } from "../../handlers/iota/config";
import { MIN_RETENTION_DAYS } from "../../handlers/iota/engine";
import { runScript } from "../helpers/run-script";
import * as fs from "node:fs";
import * as os from "node:os";

describe("iota environment", () => {
  it("keeps with-iota's names and defaults, with MILL_IOTA_AWS_* over AWS_*", () => {
    const config = iotaConfigFromEnv({
      MILL_IOTA_MONGO_URI_PARAM: "/iota/mongo-uri",
      MILL_IOTA_MONGO_DB: "iota",
      MILL_IOTA_SERVICE_ID: "records.tributary",
      AWS_REGION: "eu-west-2",
      MILL_IOTA_AWS_REGION: "eu-west-1",
      MILL_IOTA_AWS_ACCESS_KEY_ID: "AKIA",
      AWS_SECRET_ACCESS_KEY: "fallback-secret",
    });
    assert.deepEqual(config, {
      mongoDb: "iota",
      serviceId: "records.tributary",
      journalName: "iotaJournalEntries",
      eventBusName: "default",
      retentionMs: 15 * 24 * 3600 * 1000,
      aws: { region: "eu-west-1", endpoint: undefined, credentials: { accessKeyId: "AKIA", secretAccessKey: "fallback-secret", sessionToken: undefined } },
    });
  });

  it("reads the journal's retention in days, and refuses one that is not a whole number, or shorter than an event can come back", () => {
    const base = { MILL_IOTA_MONGO_URI: "mongodb://x", MILL_IOTA_MONGO_DB: "d", MILL_IOTA_SERVICE_ID: "s" };
    assert.equal(iotaConfigFromEnv({ ...base, MILL_IOTA_JOURNAL_RETENTION_DAYS: "30" }).retentionMs, 30 * 24 * 3600 * 1000);
    assert.throws(() => iotaConfigFromEnv({ ...base, MILL_IOTA_JOURNAL_RETENTION_DAYS: "a week" }), /MILL_IOTA_JOURNAL_RETENTION_DAYS must be a whole number of days/);
    assert.throws(() => iotaConfigFromEnv({ ...base, MILL_IOTA_JOURNAL_RETENTION_DAYS: "7" }), /MILL_IOTA_JOURNAL_RETENTION_DAYS must be a whole number of days, at least 15: .*\(got "7"\)/);
  });

  it("takes the least retention from the dead-letter queue's 14 days and EventBridge's 24 hours of retries, the same on both sides", () => {
    assert.equal(MIN_JOURNAL_RETENTION_DAYS, 15);
    assert.equal(MIN_RETENTION_DAYS, MIN_JOURNAL_RETENTION_DAYS);
  });

  it("names every missing variable", () => {
    assert.throws(() => iotaConfigFromEnv({}), /missing environment variable\(s\): MILL_IOTA_MONGO_URI \(or MILL_IOTA_MONGO_URI_PARAM\), MILL_IOTA_MONGO_DB, MILL_IOTA_SERVICE_ID/);
  });

  it("fails the cold start of a service, naming the variable", async () => {
    const event = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "iota-")), "e.json");
    fs.writeFileSync(event, "{}");
    const result = await runScript("invoke", ["iota-records", "--event", event], { MILL_IOTA_MONGO_URI: "", MILL_IOTA_MONGO_URI_PARAM: "", MILL_IOTA_MONGO_DB: "x" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /missing environment variable\(s\): MILL_IOTA_MONGO_URI \(or MILL_IOTA_MONGO_URI_PARAM\), MILL_IOTA_SERVICE_ID/);
  });
});
