import * as assert from "node:assert/strict";
import * as path from "node:path";
import { MongoServerError } from "mongodb";
import { MIN_JOURNAL_RETENTION_DAYS } from "../../apps/iota/settings";
import { iotaConfigFromEnv } from "../../handlers/iota/config";
import {
  explainMongoError,
  IotaMongoError,
  isLoopbackUri,
  LOCAL_SERVER_SELECTION_TIMEOUT_MS,
  mongoClientOptions,
} from "../../handlers/iota/connection";
import { MIN_RETENTION_DAYS } from "../../handlers/iota/engine";
import { payloadPath } from "../helpers/fixtures";
import { closedPort, runScript } from "../helpers/run-script";
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
      mongoUriFrom: "the SSM parameter /iota/mongo-uri (MILL_IOTA_MONGO_URI_PARAM)",
      mongoDb: "iota",
      serviceId: "records.tributary",
      journalName: "iotaJournalEntries",
      eventBusName: "default",
      retentionMs: 15 * 24 * 3600 * 1000,
      aws: {
        region: "eu-west-1",
        endpoint: undefined,
        credentials: { accessKeyId: "AKIA", secretAccessKey: "fallback-secret", sessionToken: undefined },
      },
    });
  });

  it("reads the journal's retention in days, and refuses one that is not a whole number, or shorter than an event can come back", () => {
    const base = { MILL_IOTA_MONGO_URI: "mongodb://x", MILL_IOTA_MONGO_DB: "d", MILL_IOTA_SERVICE_ID: "s" };
    assert.equal(iotaConfigFromEnv({ ...base, MILL_IOTA_JOURNAL_RETENTION_DAYS: "30" }).retentionMs, 30 * 24 * 3600 * 1000);
    assert.throws(
      () => iotaConfigFromEnv({ ...base, MILL_IOTA_JOURNAL_RETENTION_DAYS: "a week" }),
      /MILL_IOTA_JOURNAL_RETENTION_DAYS must be a whole number of days/,
    );
    assert.throws(
      () => iotaConfigFromEnv({ ...base, MILL_IOTA_JOURNAL_RETENTION_DAYS: "7" }),
      /MILL_IOTA_JOURNAL_RETENTION_DAYS must be a whole number of days, at least 15: .*\(got "7"\)/,
    );
  });

  it("takes the least retention from the dead-letter queue's 14 days and EventBridge's 24 hours of retries, the same on both sides", () => {
    assert.equal(MIN_JOURNAL_RETENTION_DAYS, 15);
    assert.equal(MIN_RETENTION_DAYS, MIN_JOURNAL_RETENTION_DAYS);
  });

  it("names every missing variable", () => {
    assert.throws(
      () => iotaConfigFromEnv({}),
      /missing environment variable\(s\): MILL_IOTA_MONGO_URI \(or MILL_IOTA_MONGO_URI_PARAM\), MILL_IOTA_MONGO_DB, MILL_IOTA_SERVICE_ID/,
    );
  });

  it("fails the cold start of a service, naming the variable", async () => {
    const event = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "iota-")), "e.json");
    fs.writeFileSync(event, "{}");
    const result = await runScript("invoke", ["iota-records", "--event", event], {
      MILL_IOTA_MONGO_URI: "",
      MILL_IOTA_MONGO_URI_PARAM: "",
      MILL_IOTA_MONGO_DB: "x",
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /missing environment variable\(s\): MILL_IOTA_MONGO_URI \(or MILL_IOTA_MONGO_URI_PARAM\), MILL_IOTA_SERVICE_ID/,
    );
  });
});

describe("iota without a MongoDB server it can use", function () {
  this.timeout(60_000);
  const needs = /iota needs a MongoDB replica set \(or a sharded cluster\): it applies each event in a transaction/;

  it("npm run invoke fails within seconds, naming MILL_IOTA_MONGO_URI and what it needs", async () => {
    const uri = `mongodb://127.0.0.1:${await closedPort()}/?replicaSet=rs0`;
    const started = Date.now();
    const result = await runScript("invoke", ["iota-records", "--event", payloadPath("iota", "record-created.json")], {
      MILL_IOTA_MONGO_URI: uri,
      MILL_IOTA_MONGO_URI_PARAM: "",
      MILL_IOTA_MONGO_DB: "records",
      MILL_IOTA_SERVICE_ID: "records.local",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      AWS_REGION: "eu-west-2",
    });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /IotaMongoError: no MongoDB server answered at the URI in MILL_IOTA_MONGO_URI \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)/,
    );
    assert.match(result.stderr, needs);
    assert.match(
      result.stderr,
      /Set MILL_IOTA_MONGO_URI to one, e\.g\. mongodb:\/\/127\.0\.0\.1:27017\/\?replicaSet=rs0&directConnection=true/,
    );
    assert.ok(!result.stderr.includes(uri), "the URI itself (it may hold a password) is not printed");
    // The driver's own 30 s would put it past 30.
    assert.ok(seconds < 15, `it took ${seconds} s`);
  });

  it("npm run iota:migrate fails within seconds, naming --uri and what it needs", async () => {
    const started = Date.now();
    const result = await runScript("iota-migrate", ["--uri", `mongodb://127.0.0.1:${await closedPort()}/`, "--db", "records"]);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^no MongoDB server answered at the URI in --uri \(connect ECONNREFUSED/);
    assert.match(result.stderr, needs);
    assert.ok(seconds < 10, `it took ${seconds} s`);
  });

  it("npm run iota:migrate --help prints its usage and options, and exits 0", async () => {
    const result = await runScript("iota-migrate", ["--help"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^usage: npm run iota:migrate -- --uri <mongodb uri> --db <database>/);
    for (const option of ["--uri", "--db", "--journal", "--retention-days"]) assert.match(result.stdout, new RegExp(`^  ${option} `, "m"));
  });

  it("waits less only for a server on this machine: deployed URIs keep the driver's 30 s", () => {
    for (const uri of [
      "mongodb://127.0.0.1:27017/?replicaSet=rs0",
      "mongodb://user:p%40ss@localhost/db",
      "mongodb://127.0.0.1:27017,127.0.0.1:27018/",
      "mongodb://[::1]:27017",
    ]) {
      assert.ok(isLoopbackUri(uri), uri);
      assert.deepEqual(mongoClientOptions(uri, 10_000), { serverSelectionTimeoutMS: LOCAL_SERVER_SELECTION_TIMEOUT_MS });
    }
    for (const uri of [
      "mongodb+srv://user:pw@cluster0.abcde.mongodb.net/?retryWrites=true",
      "mongodb://127.0.0.1:27017,db.example.org:27017/",
      "mongodb://127.0.0.1.example.org/",
      "mongodb://localhost@db.example.org/",
    ]) {
      assert.ok(!isLoopbackUri(uri), uri);
      assert.deepEqual(mongoClientOptions(uri), {});
    }
    assert.deepEqual(mongoClientOptions("mongodb+srv://c.example.net/", 10_000), { serverSelectionTimeoutMS: 10_000 });
  });

  it("says that a standalone server has no transactions, and leaves other errors alone", () => {
    const standalone = new MongoServerError({
      errmsg: "Transaction numbers are only allowed on a replica set member or mongos",
      code: 20,
      codeName: "IllegalOperation",
    });
    const explained = explainMongoError(standalone, "MILL_IOTA_MONGO_URI");
    assert.ok(explained instanceof IotaMongoError);
    assert.match(
      explained.message,
      /^the MongoDB server at the URI in MILL_IOTA_MONGO_URI is a standalone server\. iota needs a MongoDB replica set/,
    );
    assert.equal(explained.cause, standalone);
    const other = new MongoServerError({ errmsg: "E11000 duplicate key error", code: 11000 });
    assert.equal(explainMongoError(other, "MILL_IOTA_MONGO_URI"), other);
  });
});
