import * as assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { SNSClient } from "@aws-sdk/client-sns";
import { handleWebhook, MAX_BODY_BYTES, signatureMatches, type WebhookDependencies } from "../../handlers/alma/webhook";
import { TimeBudget } from "../../handlers/lib/budget";
import { ALMA_EVENTS } from "../../handlers/lib/env-names";
import { localClientConfig } from "../../tooling/local/aws";
import { type FakeSns, startFakeSns } from "../../tooling/local/fake-sns";
import { payloadPath } from "../helpers/fixtures";
import { captureLogs } from "../helpers/logs";

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
      sns: new SNSClient(localClientConfig(sns.url)),
      keys: { current: async () => SECRET, previous: async () => undefined, refresh: async () => false },
      topicArns: Object.fromEntries(ALMA_EVENTS.map((e) => [e, topicArn(e)])),
    };
  });
  after(() => sns.close());
  beforeEach(() => {
    sns.published.length = 0;
    sns.failNext(0);
  });

  /** A fixture as Alma delivers it for real: request bodies carry user_primary_id, and are signed again. */
  function delivery(file: string, change: (body: any) => void = () => undefined) {
    const event = fixture(file);
    const body = JSON.parse(event.body);
    if (body.user_request) body.user_request.user_primary_id = "LBAAJH";
    change(body);
    event.body = JSON.stringify(body);
    event.headers["X-Exl-Signature"] = sign(event.body);
    return event;
  }
  /** A signed POST of any body. */
  const post = (body: string) => ({ httpMethod: "POST", headers: { "X-Exl-Signature": sign(body) }, body });

  // The expectations of alma-webhook-handler's tests: each of the eight events, as its own
  // fixture captured it (the request fixtures without user_primary_id), answers 200 and is
  // published, exactly as its raw body, to the topic of its event.
  for (const file of fs.readdirSync(FIXTURES).filter((f) => f.endsWith("_event.json"))) {
    it(`publishes ${file}, as captured, as its raw body to the topic of its event`, async () => {
      const event = fixture(file);
      const value = JSON.parse(event.body).event.value;
      const response = await handleWebhook(event, deps);
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(JSON.parse(response.body).event, value);
      assert.deepEqual(sns.published, [{ topicArn: topicArn(value), message: event.body }]);
      const notes = value.startsWith("REQUEST_") ? ["user_request.user_primary_id: is missing: stored without a user link"] : undefined;
      assert.deepEqual(JSON.parse(response.body).notes, notes);
    });
  }

  it("verifies signatures as alma-webhook-handler's validator tests have it", () => {
    assert.equal(signatureMatches("{'api':'alma'}", "FPkZ/un59vBhgs4dn6yqhqMosD4oK4/fp8swRtkVxAE=", SECRET), true);
    assert.equal(signatureMatches("a message", "not a valid signature", SECRET), false);
  });

  it("accepts only the canonical base64 of the HMAC, as the original's string comparison did: 401 for other text that decodes to it", async () => {
    const { body } = fixture("loan_created_event.json");
    const good = sign(body);
    assert.match(good, /[+/].*=$/, "the fixture's signature has + or / and padding");
    const variants: [string, string][] = [
      ["trailing junk", `${good}AAAA`],
      ["a trailing character", `${good}x`],
      ["missing padding", good.replace(/=+$/, "")],
      ["base64url", good.replace(/\+/g, "-").replace(/\//g, "_")],
      ["an embedded space", `${good.slice(0, 10)} ${good.slice(10)}`],
      ["an embedded newline", `${good.slice(0, 10)}\n${good.slice(10)}`],
    ];
    for (const [name, signature] of variants) {
      assert.deepEqual(Buffer.from(signature, "base64"), Buffer.from(good, "base64"), `${name} decodes to the HMAC`);
    }
    for (const [name, signature] of variants) {
      const response = await handleWebhook({ httpMethod: "POST", headers: { "X-Exl-Signature": signature }, body }, deps);
      assert.equal(response.statusCode, 401, name);
    }
    assert.deepEqual(sns.published, []);
    assert.equal((await handleWebhook({ httpMethod: "POST", headers: { "X-Exl-Signature": good }, body }, deps)).statusCode, 200);
  });

  describe("records that cannot be stored at all: 422 naming the field, and nothing published", () => {
    const cases: [string, () => unknown, RegExp][] = [
      ["no event type", () => post(JSON.stringify({ item_loan: { loan_id: "1" } })), /event\.value null is not one of LOAN_CREATED/],
      [
        "a loan event without item_loan",
        () => post(JSON.stringify({ event: { value: "LOAN_RETURNED" } })),
        /the LOAN_RETURNED record cannot be stored: item_loan: /,
      ],
      [
        "a loan without loan_id",
        () => delivery("loan_created_event.json", (b) => delete b.item_loan.loan_id),
        /item_loan\.loan_id: is required/,
      ],
      ["a null loan_id", () => delivery("loan_created_event.json", (b) => (b.item_loan.loan_id = null)), /item_loan\.loan_id: is required/],
      [
        "an empty loan_id",
        () => delivery("loan_created_event.json", (b) => (b.item_loan.loan_id = "")),
        /item_loan\.loan_id: must not be empty/,
      ],
      [
        "a loan_id that is an object",
        () => delivery("loan_created_event.json", (b) => (b.item_loan.loan_id = { id: 1 })),
        /item_loan\.loan_id: must be text or a number/,
      ],
      [
        "an id too long for a DynamoDB key",
        () => delivery("loan_created_event.json", (b) => (b.item_loan.loan_id = "1".repeat(2100))),
        /item_loan\.loan_id: must be at most 2040 bytes/,
      ],
      [
        "a request without request_id",
        () => delivery("request_closed_event.json", (b) => delete b.user_request.request_id),
        /the REQUEST_CLOSED record cannot be stored: user_request\.request_id: is required/,
      ],
    ];
    for (const [name, event, message] of cases) {
      it(name, async () => {
        const response = await handleWebhook(event(), deps);
        assert.equal(response.statusCode, 422, response.body);
        assert.match(JSON.parse(response.body).message, message);
        assert.deepEqual(sns.published, []);
      });
    }
  });

  describe("deliveries the original published, and the cache stores: 200, published as they came, the odd field logged", () => {
    const cases: [string, () => { body: string; headers: Record<string, string> }, string[]][] = [
      [
        "a loan without user_id",
        () => delivery("loan_returned_event.json", (b) => delete b.item_loan.user_id),
        ["item_loan.user_id: is missing: stored without a user link"],
      ],
      [
        "a due date of 2018-02-23 14:10:06",
        () => delivery("loan_renewed_event.json", (b) => (b.item_loan.due_date = "2018-02-23 14:10:06")),
        [],
      ],
      ["a due date of 23/02/2018", () => delivery("loan_due_date_event.json", (b) => (b.item_loan.due_date = "23/02/2018")), []],
      [
        "a due date that is not a date",
        () => delivery("loan_renewed_event.json", (b) => (b.item_loan.due_date = "soon")),
        ['item_loan.due_date: "soon" is not a date we read: expiry_date 0'],
      ],
      ["a title that is a number", () => delivery("loan_created_event.json", (b) => (b.item_loan.title = 1984)), []],
      [
        "a title that is an object",
        () => delivery("loan_created_event.json", (b) => (b.item_loan.title = { text: "Journey" })),
        ["item_loan.title: is an object, not text, a number or a boolean: left out"],
      ],
      [
        "a title nested 20,000 levels",
        () =>
          post(
            JSON.stringify({ event: { value: "LOAN_CREATED" }, item_loan: { loan_id: "1", user_id: "u" } }).replace(
              '"u"}',
              `"u","title":${"[".repeat(20_000)}${"]".repeat(20_000)}}`,
            ),
          ),
        ["item_loan.title: is a list, not text, a number or a boolean: left out"],
      ],
      [
        "a number too large for a double (1e400)",
        () => post(delivery("loan_created_event.json").body.replace('"mms_id":"9919045950001221"', '"mms_id":1e400')),
        [],
      ],
      [
        "a renewable that is not a boolean",
        () => delivery("loan_created_event.json", (b) => (b.item_loan.renewable = "false")),
        ["item_loan.renewable: is a string, not a boolean: left out"],
      ],
      [
        "a time that is not a time",
        () => delivery("loan_created_event.json", (b) => (b.time = "yesterday")),
        [`time: "yesterday" is not an ISO 8601 time: ordered by the SNS message's Timestamp`],
      ],
      // biome-ignore lint/correctness/noPrecisionLoss: Alma's ids exceed 2^53; a JSON number loses digits, as this one does
      ["a loan_id that is a number", () => delivery("loan_created_event.json", (b) => (b.item_loan.loan_id = 18263808770001221)), []],
    ];
    for (const [name, event, notes] of cases) {
      it(name, async () => {
        const sent = event();
        const { result: response, logs } = await captureLogs("WARN", () => handleWebhook(sent, deps));
        assert.equal(response.statusCode, 200, response.body);
        assert.deepEqual(JSON.parse(response.body).notes, notes.length > 0 ? notes : undefined);
        assert.equal(sns.published.length, 1);
        assert.equal(sns.published[0].message, sent.body);
        assert.deepEqual(
          logs.flatMap((l) => l.fields.map((f: { field: string; note: string }) => `${f.field}: ${f.note}`)),
          notes,
        );
      });
    }
  });

  it("masks an e-mail address in what it logs of a delivery, and publishes the delivery as it came", async () => {
    const sent = delivery("loan_renewed_event.json", (b) => (b.item_loan.due_date = "ask jane.doe@lancaster.ac.uk"));
    const { result: response, logs } = await captureLogs("WARN", () => handleWebhook(sent, deps));
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(logs[0].fields, [
      { field: "item_loan.due_date", note: '"ask j***@lancaster.ac.uk" is not a date we read: expiry_date 0' },
    ]);
    assert.ok(!JSON.stringify(logs).includes("jane.doe@lancaster.ac.uk"));
    assert.equal(sns.published[0].message, sent.body, "the cache's contract: the raw body, address and all");
  });

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

  it("answers Alma's challenge as the original did, at any path", async () => {
    const response = await handleWebhook(
      { requestContext: { httpMethod: "GET" }, httpMethod: "GET", queryStringParameters: { challenge: "this is a challenge" } },
      deps,
    );
    assert.deepEqual([response.statusCode, response.body], [200, '{"challenge":"this is a challenge"}']);
    const root = await handleWebhook(
      { requestContext: { http: { method: "GET", path: "/" } }, queryStringParameters: { challenge: "abc123" } },
      deps,
    );
    assert.deepEqual([root.statusCode, JSON.parse(root.body)], [200, { challenge: "abc123" }]);
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

  it("gives up a publish that outlasts the invocation's time budget, so that Alma sees a 5xx and delivers again", async () => {
    sns.delayMs = 2_000;
    try {
      const started = Date.now();
      await assert.rejects(handleWebhook(delivery("loan_created_event.json"), deps, new TimeBudget(Date.now() + 300)), /abort/i);
      assert.ok(Date.now() - started < 1_500, `gave up after ${Date.now() - started} ms`);
      await assert.rejects(
        handleWebhook(delivery("loan_created_event.json"), deps, new TimeBudget(Date.now() - 1)),
        /time budget ran out before the LOAN_CREATED delivery could be published/,
      );
    } finally {
      sns.delayMs = 0;
    }
  });

  it("retries a failing publish, and throws once SNS keeps failing, so that Alma sees a 5xx", async () => {
    sns.failNext(1);
    assert.equal((await handleWebhook(fixture("loan_created_event.json"), deps)).statusCode, 200);
    assert.equal(sns.published.length, 1);
    sns.failNext(10);
    await assert.rejects(handleWebhook(fixture("loan_created_event.json"), deps), /injected failure|InternalError/);
  });
});
