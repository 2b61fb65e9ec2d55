import * as assert from "node:assert/strict";
import { type HttpError, requestWithRetry } from "../../handlers/lib/http";
import { lambdaHandler, logger } from "../../handlers/lib/logger";
import { maskedError, maskEmails, withoutSecrets } from "../../handlers/lib/mask";
import { FAST_RETRY, type HttpStub, startStub } from "../../tooling/local/http-stub";
import { captureLogs } from "../helpers/logs";

describe("what handlers print of data they did not write", () => {
  describe("maskEmails", () => {
    it("masks every address in text, JSON and URL queries, keeping the domain and the fields around it", () => {
      assert.equal(maskEmails("chris.mccann@topcoder.com"), "c***@topcoder.com");
      assert.equal(maskEmails('{"email":"a.b+c@x.co.uk","to":"z@y.org"}'), '{"email":"a***@x.co.uk","to":"z***@y.org"}');
      assert.equal(maskEmails("userId=1&email=chris.mccann%40topcoder.com&lessonId=x"), "userId=1&email=c***%40topcoder.com&lessonId=x");
      assert.equal(maskEmails("samlp|wipro-azuread|a@b.com"), "samlp|wipro-azuread|a***@b.com");
    });

    it("leaves text without an address as it is, and scans long text in linear time", () => {
      assert.equal(maskEmails("lesson 5 of user 88778750 @ 12:00"), "lesson 5 of user 88778750 @ 12:00");
      const long = `${"a".repeat(300_000)} then b@c.de`;
      const started = Date.now();
      assert.ok(maskEmails(long).endsWith(" then b***@c.de"));
      assert.ok(Date.now() - started < 2_000);
    });
  });

  it("withoutSecrets replaces each secret, and ignores values too short to be one", () => {
    assert.equal(
      withoutSecrets("id=app secret=s3cr3t-value again s3cr3t-value", ["s3cr3t-value", "app", undefined]),
      "id=app secret=[redacted] again [redacted]",
    );
  });

  it("maskedError masks an error's message, stack and cause in place, keeping its class and fields", () => {
    const cause = new Error("for jane.doe@example.org");
    const err = Object.assign(new TypeError("user chris.mccann@topcoder.com failed", { cause }), { status: 503 });
    assert.equal(maskedError(err), err);
    assert.ok(err instanceof TypeError);
    assert.equal(err.message, "user c***@topcoder.com failed");
    assert.ok(!String(err.stack).includes("chris.mccann"));
    assert.equal(cause.message, "for j***@example.org");
    assert.equal(err.status, 503);
    // An error whose message is a getter is masked too.
    const getter = new Error();
    Object.defineProperty(getter, "message", { get: () => "x@y.io refused", configurable: true });
    assert.equal(maskedError(getter).message, "x***@y.io refused");
  });

  it("the logger masks every address in every line: message, fields at any depth, and errors", async () => {
    const { logs } = await captureLogs("DEBUG", async () => {
      logger.info("sent to chris.mccann@topcoder.com", {
        user: { email: "chris.mccann@topcoder.com", ids: ["a@b.com"] },
        error: new Error("no user jane@x.org"),
      });
    });
    const line = JSON.stringify(logs);
    assert.ok(!/chris\.mccann@|"a@b\.com"|jane@x\.org/.test(line), line);
    assert.equal(logs[0].message, "sent to c***@topcoder.com");
    assert.deepEqual(logs[0].user, { email: "c***@topcoder.com", ids: ["a***@b.com"] });
    assert.equal(logs[0].error.message, "no user j***@x.org");
  });

  it("a Lambda entry masks the addresses of the error it throws: Lambda logs it and keeps it in its invocation record", async () => {
    const handler = lambdaHandler(async () => {
      throw new Error("no lesson marked complete for user chris.mccann@topcoder.com");
    });
    await assert.rejects(
      handler({}),
      (err: Error) => err.message === "no lesson marked complete for user c***@topcoder.com" && !String(err.stack).includes("chris.mccann"),
    );
  });

  describe("an upstream answer in an HttpError", () => {
    let server: HttpStub;
    before(async () => {
      server = await startStub((req) => ({
        status: 400,
        body: { error: "invalid_client", echo: `${req.body} ${req.headers.authorization} jane@x.org` },
      }));
    });
    after(() => server.close());

    const failure = (answerDetail?: "excerpt" | "oauthError") =>
      requestWithRetry(
        `${server.url}/t?email=jane@x.org`,
        { method: "POST", headers: { authorization: "Bearer tok-123456" }, body: "client_secret=s3cr3t-value" },
        FAST_RETRY,
        undefined,
        answerDetail,
      ).then(
        () => assert.fail("expected an HttpError"),
        (err: HttpError) => err,
      );

    it("tells a token endpoint's answer by its OAuth error code alone, and keeps no body on the error", async () => {
      const err = await failure("oauthError");
      assert.equal(err.message, `POST ${server.url}/t answered HTTP 400: invalid_client`);
      assert.deepEqual(Object.keys(err).sort(), ["detail", "method", "name", "retryAfterMs", "status", "url"]);
    });

    it("quotes any other answer with its addresses masked, and nothing the request sent: its credentials, its body", async () => {
      const err = await failure();
      assert.match(err.message, /answered HTTP 400: \{"error":"invalid_client","echo":"\[redacted\] \[redacted\] j\*\*\*@x\.org"\}$/);
      assert.ok(!err.message.includes("tok-123456"));
      assert.ok(!err.message.includes("s3cr3t-value"));
    });
  });
});
