import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { listHandlers } from "../../components/lambda/bundle";
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

  it("refuses an unknown function", async () => {
    const result = await runScript("invoke", ["no-such-function", "--event", eventFile({})]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown function "no-such-function"/);
  });
});
