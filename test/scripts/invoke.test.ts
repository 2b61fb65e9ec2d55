import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { bundleHandler, listHandlers } from "../../components/lambda/bundle";
import { ALMA_ENV, HDOC_ENV } from "../../handlers/lib/env-names";
import { callsAws } from "../../scripts/invoke";
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
    const result = await runScript("invoke", [
      "--entry",
      ECHO,
      "--event",
      eventFile({ message: "a" }),
      "--event",
      eventFile({ message: "b" }),
    ]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
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
      const logs = result.stderr
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l));
      const sent = logs.filter((l) => l.message === "lessons sent");
      assert.equal(sent.length, 2);
      assert.deepEqual(
        sent.map((l) => [l.service, l.function_name, l.cold_start]),
        [
          ["lesson-completed", "lesson-completed", true],
          ["lesson-completed", "lesson-completed", false],
        ],
      );
      assert.ok(sent.every((l) => /^[0-9a-f-]{36}$/.test(l.function_request_id)));
      assert.notEqual(sent[0].function_request_id, sent[1].function_request_id);
      const lines = result.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
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
      const cache = await runScript(
        "invoke",
        ["alma-loan-updated", "--event", eventFile({ Records: [{ EventSource: "aws:sns", Sns: { Message: body } }] })],
        local.env,
      );
      assert.equal(cache.code, 0, cache.stderr);
      assert.deepEqual(JSON.parse(cache.stdout), {
        records: 1,
        linked: 0,
        unlinked: 0,
        unchanged: 0,
        queued: 1,
        unlinkedRecord: 0,
        stale: 0,
      });

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
      const wrapped = await runScript("events/wrap", [
        "sqs",
        "--webhook",
        payloadPath("alma-webhook", "loan_created_event.json"),
        "--message",
        bad,
      ]);
      assert.equal(wrapped.code, 0, wrapped.stderr);
      const event = JSON.parse(wrapped.stdout);
      assert.deepEqual(
        event.Records.map((r: any) => [r.eventSource, JSON.parse(r.body).Type]),
        [
          ["aws:sqs", "Notification"],
          ["aws:sqs", "Notification"],
        ],
      );
      const result = await runScript("invoke", ["alma-loan-updated", "--event", eventFile(event)], {
        ...local.env,
        POWERTOOLS_LOG_LEVEL: "INFO",
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { batchItemFailures: [{ itemIdentifier: event.Records[1].messageId }] });
      const logged = result.stderr
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l))
        .filter((l) => l.level === "ERROR");
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

  describe("what it checks, in order: the function, the events, the function's environment, and AWS credentials last", () => {
    const NO_CREDENTIALS = "no AWS credentials found";
    /** A machine with no AWS credentials anywhere: none in the environment, no ~/.aws, no instance metadata. */
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "invoke-home-"));
    const noCredentials: NodeJS.ProcessEnv = {
      HOME: home,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_CONFIG_FILE: path.join(home, "config"),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, "credentials"),
      AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_REGION: "eu-west-2",
    };
    /** The alma cache functions' variables, all unset. */
    const noAlmaEnv = Object.fromEntries(
      [...Object.values(ALMA_ENV), ...Object.values(HDOC_ENV)].map((name) => [name, undefined]),
    ) as NodeJS.ProcessEnv;
    after(() => fs.rmSync(home, { recursive: true, force: true }));

    it("a missing variable the function reads when it loads: named, with where to get it, before any word about credentials", async () => {
      const result = await runScript("invoke", ["alma-loan-updated", "--event", eventFile({ Records: [] })], {
        ...noCredentials,
        ...noAlmaEnv,
      });
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assert.equal(
        result.stderr,
        "alma-loan-updated cannot start: environment variable USERS_TABLE_NAME is not set (to run it against local stand-ins: npm run local -- alma, then in this shell source .build/local/alma.env)\n",
      );
    });

    it("an event file that is missing or not JSON: named, before the function loads or credentials are looked for", async () => {
      const missing = path.join(home, "no-such-event.json");
      const result = await runScript("invoke", ["alma-loan-updated", "--event", eventFile({}), "--event", missing], {
        ...noCredentials,
        ...noAlmaEnv,
      });
      assert.equal(result.code, 1);
      assert.equal(result.stderr, `cannot read event file ${missing}: there is no such file\n`);
      const notJson = path.join(home, "event.txt");
      fs.writeFileSync(notJson, "Records: []");
      const bad = await runScript("invoke", ["alma-loan-updated", "--event", notJson], { ...noCredentials, ...noAlmaEnv });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, new RegExp(`^event file ${notJson} is not JSON: .*\n$`));
    });

    it("credentials are looked for once the function has loaded, and said missing then", async () => {
      const result = await runScript("invoke", ["hdoc-get-users", "--event", eventFile({ version: "2.0", rawPath: "/users" })], {
        ...noCredentials,
        ...noAlmaEnv,
        [HDOC_ENV.usersTable]: "users",
        [HDOC_ENV.publicAttributes]: JSON.stringify({ except: [] }),
        // Nothing listens there: the request never gets as far as the network.
        AWS_ENDPOINT_URL_DYNAMODB: "http://127.0.0.1:9",
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, new RegExp(`^${NO_CREDENTIALS} \\(`));
      assert.equal(JSON.parse(result.stdout).statusCode, 500);
    });

    it("a function that calls no AWS service is run without looking for credentials", async () => {
      const entry = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "invoke-entry-")), "plain", "index.ts");
      fs.mkdirSync(path.dirname(entry));
      fs.writeFileSync(entry, "export const handler = async (event: { n: number }) => ({ doubled: event.n * 2 });\n");
      const result = await runScript("invoke", ["--entry", entry, "--event", eventFile({ n: 21 })], noCredentials);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { doubled: 42 });
      assert.doesNotMatch(result.stderr, new RegExp(NO_CREDENTIALS));
      fs.rmSync(path.dirname(path.dirname(entry)), { recursive: true, force: true });
    });

    it("knows which bundles call AWS: those that hold the SDK's credential provider", async () => {
      assert.equal(callsAws(await bundleHandler({ handler: "alma-webhook" })), true);
      assert.equal(callsAws({ metafile: { inputs: { "handlers/x.ts": { bytes: 1, imports: [] } }, outputs: {} } }), false);
    });
  });
});
