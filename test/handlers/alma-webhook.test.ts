import * as assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { SNSClient } from "@aws-sdk/client-sns";
import { handleWebhook, MAX_BODY_BYTES, type WebhookDependencies } from "../../handlers/lib/alma/webhook";
import { ALMA_EVENTS } from "../../handlers/lib/env-names";
import { LOCAL_CREDENTIALS } from "../../tooling/local/dynamo";
import { type FakeSns, startFakeSns } from "../../tooling/local/fake-sns";
import { payloadPath } from "../helpers/fixtures";

const FIXTURES = payloadPath("alma-webhook");
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), "utf8"));
const SECRET = "secretkey";
const sign = (body: string) => createHmac("sha256", SECRET).update(body).digest("base64");
const topicArn = (event: string) => `arn:aws:sns:eu-west-2:123456789012:alma-${event}`;

describe("alma webhook handler", function () {
  this.timeout(20_000);
  let sns: FakeSns;
  let deps: WebhookDependencies;

  before(async () => {
    sns = await startFakeSns();
    deps = {
      sns: new SNSClient({ endpoint: sns.url, region: "eu-west-2", credentials: LOCAL_CREDENTIALS }),
      secret: async () => SECRET,
      topicArns: Object.fromEntries(ALMA_EVENTS.map((e) => [e, topicArn(e)])),
    };
  });
  after(() => sns.close());
  beforeEach(() => {
    sns.published.length = 0;
    sns.failNext(0);
  });

  const valid = fs.readdirSync(FIXTURES).filter((f) => f.endsWith("_event.json"));

  for (const file of valid) {
    it(`publishes ${file} as its raw body to the topic of its event`, async () => {
      const event = fixture(file);
      const value = JSON.parse(event.body).event.value;
      const response = await handleWebhook(event, deps);
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(JSON.parse(response.body).event, value);
      assert.deepEqual(sns.published, [{ topicArn: topicArn(value), message: event.body }]);
    });
  }

  it("answers 401 to a bad signature, 400 to a body that is not JSON and 422 to an unsupported event, publishing nothing", async () => {
    const cases: [string, number, RegExp][] = [
      ["invalid-signature.json", 401, /X-Exl-Signature/],
      ["invalid-json.json", 400, /not JSON/],
      ["invalid-event-type.json", 422, /event\.value "not a valid event type" is not one of LOAN_CREATED/],
    ];
    for (const [file, status, message] of cases) {
      const response = await handleWebhook(fixture(file), deps);
      assert.equal(response.statusCode, status, file);
      assert.match(JSON.parse(response.body).message, message);
    }
    assert.deepEqual(sns.published, []);
  });

  it("answers 401 when the signature is missing or belongs to another body", async () => {
    const event = fixture("loan_created_event.json");
    delete event.headers["X-Exl-Signature"];
    assert.equal((await handleWebhook(event, deps)).statusCode, 401);
    const tampered = fixture("loan_created_event.json");
    tampered.body = tampered.body.replace("LBAAJH", "SOMEONE");
    assert.equal((await handleWebhook(tampered, deps)).statusCode, 401);
    assert.deepEqual(sns.published, []);
  });

  it("answers Alma's challenge", async () => {
    const response = await handleWebhook({ requestContext: { http: { method: "GET" } }, queryStringParameters: { challenge: "abc123" } }, deps);
    assert.deepEqual([response.statusCode, JSON.parse(response.body)], [200, { challenge: "abc123" }]);
    const missing = await handleWebhook({ requestContext: { http: { method: "GET" } } }, deps);
    assert.equal(missing.statusCode, 400);
    assert.match(JSON.parse(missing.body).message, /challenge/);
  });

  it("reads an HTTP API (payload 2.0) event with lower-case headers and a base64 body", async () => {
    const { body } = fixture("loan_returned_event.json");
    const response = await handleWebhook(
      {
        version: "2.0",
        requestContext: { http: { method: "POST", path: "/webhook" } },
        headers: { "x-exl-signature": sign(body), "content-type": "application/json" },
        body: Buffer.from(body).toString("base64"),
        isBase64Encoded: true,
      },
      deps,
    );
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(sns.published, [{ topicArn: topicArn("LOAN_RETURNED"), message: body }]);
  });

  it("refuses an oversized body with 413 before reading it further", async () => {
    const body = JSON.stringify({ event: { value: "LOAN_CREATED" }, padding: "x".repeat(MAX_BODY_BYTES) });
    const response = await handleWebhook({ httpMethod: "POST", headers: { "X-Exl-Signature": sign(body) }, body }, deps);
    assert.equal(response.statusCode, 413);
    assert.deepEqual(sns.published, []);
  });

  it("refuses other methods with 405", async () => {
    assert.equal((await handleWebhook({ requestContext: { http: { method: "DELETE" } } }, deps)).statusCode, 405);
  });

  it("retries a failing publish, and throws once SNS keeps failing, so that Alma sees a 5xx", async () => {
    sns.failNext(1);
    assert.equal((await handleWebhook(fixture("loan_created_event.json"), deps)).statusCode, 200);
    assert.equal(sns.published.length, 1);
    sns.failNext(10);
    await assert.rejects(handleWebhook(fixture("loan_created_event.json"), deps), /injected failure|InternalError/);
  });
});
