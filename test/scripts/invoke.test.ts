import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { listHandlers } from "../../components/lambda/bundle";
import { startStub } from "../../tooling/local/http-stub";
import { LOCAL_APPS } from "../../scripts/local";
import { payloadPath } from "../helpers/fixtures";
import { runScript } from "../helpers/run-script";

const ECHO = "test/fixtures/handlers/echo/index.ts";

function eventFile(event: unknown): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "invoke-")), "event.json");
  fs.writeFileSync(file, JSON.stringify(event));
  return file;
}

/** A stand-in for SSM's JSON protocol that answers GetParameter and records each request. */
async function fakeSsm(): Promise<{ url: string; targets: string[]; close: () => void }> {
  const targets: string[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      targets.push(String(req.headers["x-amz-target"]));
      const { Name } = JSON.parse(body);
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      res.end(JSON.stringify({ Parameter: { Name, Type: "SecureString", Value: `value-of-${Name}` } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, targets, close: () => server.close() };
}

const LOCAL_AWS = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: "eu-west-2" };

describe("npm run invoke", function () {
  this.timeout(60_000);

  it("--list names every function under handlers/", async () => {
    const result = await runScript("invoke", ["--list"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.split("\n").filter(Boolean), listHandlers());
    assert.ok(listHandlers().includes("lesson-completed"));
  });

  it("runs each event in one warm process and prints each result as JSON", async () => {
    const result = await runScript("invoke", ["--entry", ECHO, "--event", eventFile({ message: "a" }), "--event", eventFile({ message: "b" })]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines, [
      { echoed: "a", invocations: 1 },
      { echoed: "b", invocations: 2 },
    ]);
  });

  it("points AWS clients at AWS_ENDPOINT_URL", async () => {
    const ssm = await fakeSsm();
    try {
      const result = await runScript("invoke", ["--entry", ECHO, "--event", eventFile({ message: "m", parameter: "/tributary/test" })], {
        ...LOCAL_AWS,
        AWS_ENDPOINT_URL: ssm.url,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { echoed: "m", invocations: 1, value: "value-of-/tributary/test" });
      assert.deepEqual(ssm.targets, ["AmazonSSM.GetParameter"]);
    } finally {
      ssm.close();
    }
  });

  it("exits non-zero with the handler's error on stderr", async () => {
    const result = await runScript("invoke", ["--entry", ECHO, "--event", eventFile({ message: "fail" })]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /Error: echo was asked to fail/);
  });

  it("exits non-zero on an event that fails validation, naming the field", async () => {
    const result = await runScript("invoke", ["--entry", ECHO, "--event", eventFile({ message: 7 })]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /message/);
  });

  it("runs lesson-completed against local stand-ins for Auth0 and the Learning Paths API", async () => {
    let tokens = 0;
    const server = await startStub((req) => {
      if (req.path === "/oauth/token") return { body: { access_token: `t${++tokens}`, expires_in: 3600 } };
      return req.method === "PUT" ? { status: 200 } : { status: 404 };
    });
    try {
      const fixture = payloadPath("atlas-trigger", "user_update_event.json");
      const result = await runScript("invoke", ["lesson-completed", "--event", fixture, "--event", fixture], {
        AUTH0_URL: `${server.url}/oauth/token`,
        AUTH0_AUDIENCE: "https://api.topcoder-dev.com/",
        AUTH0_CLIENT_ID: "local-client",
        AUTH0_CLIENT_SECRET: "local-secret",
        LEARNING_PATHS_API_ENDPOINT: `${server.url}/lp`,
        POWERTOOLS_LOG_LEVEL: "INFO",
        POWERTOOLS_SERVICE_NAME: "",
      });
      assert.equal(result.code, 0, result.stderr);
      // Each log line carries its invocation, as on Lambda: the function's name as the service, the request id, the cold start.
      const logs = result.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      const sent = logs.filter((l) => l.message === "lessons sent");
      assert.equal(sent.length, 2);
      assert.deepEqual(sent.map((l) => [l.service, l.function_name, l.cold_start]), [["lesson-completed", "lesson-completed", true], ["lesson-completed", "lesson-completed", false]]);
      assert.ok(sent.every((l) => /^[0-9a-f-]{36}$/.test(l.function_request_id)));
      assert.notEqual(sent[0].function_request_id, sent[1].function_request_id);
      const lines = result.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(lines, [
        { userId: "88778750", lessons: 1, completed: 1, refused: [], skipped: [], parked: [] },
        { userId: "88778750", lessons: 1, completed: 1, refused: [], skipped: [], parked: [] },
      ]);
      assert.equal(tokens, 1, "one token for two events in one warm process");
      assert.equal(server.to("PUT", "/lp").length, 2);
    } finally {
      await server.close();
    }
  });

  it("runs alma-loan-updated and alma-webhook against the alma stand-ins of npm run local", async () => {
    const local = await LOCAL_APPS.alma({ quiet: true });
    try {
      const fixture = payloadPath("alma-webhook", "loan_created_event.json");
      // The fixture dates from 2018, older than a tombstone lives: an event of today instead.
      const body = JSON.stringify({ ...JSON.parse(JSON.parse(fs.readFileSync(fixture, "utf8")).body), time: new Date().toISOString() });
      const cache = await runScript("invoke", ["alma-loan-updated", "--event", eventFile({ Records: [{ EventSource: "aws:sns", Sns: { Message: body } }] })], local.env);
      assert.equal(cache.code, 0, cache.stderr);
      assert.deepEqual(JSON.parse(cache.stdout), { records: 1, linked: 0, unlinked: 0, unchanged: 0, queued: 1, unlinkedRecord: 0, stale: 0 });

      const webhook = await runScript("invoke", ["alma-webhook", "--event", fixture], local.env);
      assert.equal(webhook.code, 0, webhook.stderr);
      assert.equal(JSON.parse(webhook.stdout).statusCode, 200);
    } finally {
      await local.close();
    }
  });

  it("runs a cache function on a batch from its queue (npm run event -- sqs): the answer names the failed record, whose reason is logged with the invocation", async () => {
    const local = await LOCAL_APPS.alma({ quiet: true });
    try {
      const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "invoke-")), "bad.json");
      fs.writeFileSync(bad, JSON.stringify({ item_loan: { user_id: "LBAAJH" } }));
      const wrapped = await runScript("events/wrap", ["sqs", "--webhook", payloadPath("alma-webhook", "loan_created_event.json"), "--message", bad]);
      assert.equal(wrapped.code, 0, wrapped.stderr);
      const event = JSON.parse(wrapped.stdout);
      assert.deepEqual(event.Records.map((r: any) => [r.eventSource, JSON.parse(r.body).Type]), [["aws:sqs", "Notification"], ["aws:sqs", "Notification"]]);
      const result = await runScript("invoke", ["alma-loan-updated", "--event", eventFile(event)], { ...local.env, POWERTOOLS_LOG_LEVEL: "INFO" });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { batchItemFailures: [{ itemIdentifier: event.Records[1].messageId }] });
      const logged = result.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).filter((l) => l.level === "ERROR");
      assert.equal(logged.length, 1);
      assert.equal(logged[0].messageId, event.Records[1].messageId);
      assert.match(logged[0].error, /Records\[1\]\.body\.Message\.item_loan\.loan_id/);
      assert.match(logged[0].function_request_id, /^[0-9a-f-]{36}$/);
    } finally {
      await local.close();
    }
  });

  it("refuses an unknown function", async () => {
    const result = await runScript("invoke", ["no-such-function", "--event", eventFile({})]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown function "no-such-function"/);
  });
});
