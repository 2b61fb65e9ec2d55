import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { createHandler } from "../../handlers/lessons/handler";
import { InvalidEventError } from "../../handlers/lib/events";
import { logger } from "../../handlers/lib/logger";
import { localAwsEnv, setEnv } from "../../tooling/local/aws";
import { type FakeSqs, startFakeSqs } from "../../tooling/local/fake-sqs";
import { FAST_RETRY, type HttpStub, type RecordedRequest, type StubResponse, startStub } from "../../tooling/local/http-stub";
import { payloadPath } from "../helpers/fixtures";

const FIXTURE = payloadPath("atlas-trigger", "user_update_event.json");
const realEvent = () => JSON.parse(fs.readFileSync(FIXTURE, "utf8"));
/** The endpoint the seed (learning-paths-api's serverless.yml) names. */
const LESSON_PATH = "/v5/learning-paths/certification-progresses/complete-lesson-via-mongo-trigger";
/** A Lambda context with this much time left. */
const withTimeLeft = (ms: number) => {
  const deadline = Date.now() + ms;
  return { getRemainingTimeInMillis: () => deadline - Date.now() };
};

/** The fixture with its fullDocument cut to what the trigger's project expression keeps, and other updated fields. */
function eventWith(updatedFields: Record<string, unknown>, externalId = "auth0|88778750") {
  const event = realEvent();
  event.detail.fullDocument = { email: "chris.mccann@topcoder.com", externalId, username: "camper" };
  event.detail.updateDescription.updatedFields = updatedFields;
  return event;
}

describe("lesson-completed handler", function () {
  this.timeout(20_000);
  let server: HttpStub;
  let sqs: FakeSqs;
  let restoreEnv: () => void;
  let api: (req: RecordedRequest) => StubResponse | Promise<StubResponse>;
  let tokensIssued = 0;
  let tokenAnswer: () => StubResponse;

  before(async () => {
    sqs = await startFakeSqs();
    restoreEnv = setEnv(localAwsEnv({ AWS_ENDPOINT_URL_SQS: sqs.url }));
    server = await startStub((req) => {
      if (req.method === "POST" && req.path === "/oauth/token") return tokenAnswer();
      if (req.path === LESSON_PATH) return api(req);
      return { status: 404 };
    });
  });
  after(async () => {
    restoreEnv();
    await server.close();
    await sqs.close();
  });
  beforeEach(() => {
    server.requests.length = 0;
    sqs.messages.length = 0;
    sqs.failNext(0);
    tokensIssued = 0;
    api = () => ({ status: 200, body: { ok: true } });
    tokenAnswer = () => ({ body: { access_token: `token-${++tokensIssued}`, expires_in: 86400, token_type: "Bearer" } });
  });

  const newHandler = (extra: Partial<Parameters<typeof createHandler>[0]> = {}) =>
    createHandler({
      tokenUrl: `${server.url}/oauth/token`,
      audience: "https://api.topcoder-dev.com/",
      clientId: "m2m-client",
      clientSecret: async () => "client-secret-value",
      endpoint: `${server.url}${LESSON_PATH}`,
      failedEventsQueueUrl: sqs.queueUrl("lessons-dlq"),
      retry: FAST_RETRY,
      ...extra,
    });
  const puts = () => server.to("PUT", LESSON_PATH);

  it("marks the lesson of the real Atlas trigger event complete", async () => {
    const result = await newHandler()(realEvent());
    assert.deepEqual(result, { userId: "88778750", lessons: 1, completed: 1, refused: [], skipped: [] });

    const [token] = server.to("POST", "/oauth/token");
    assert.equal(token.headers["content-type"], "application/x-www-form-urlencoded");
    assert.deepEqual(Object.fromEntries(new URLSearchParams(token.body)), {
      grant_type: "client_credentials",
      client_id: "m2m-client",
      client_secret: "client-secret-value",
      audience: "https://api.topcoder-dev.com/",
    });

    assert.equal(puts().length, 1);
    const [put] = puts();
    assert.deepEqual(Object.fromEntries(put.query), {
      userId: "88778750",
      email: "chris.mccann@topcoder.com",
      lessonId: "616d47bc9eedc4bc7f621bec",
    });
    assert.equal(put.headers.authorization, "Bearer token-1");
    assert.equal(put.body, "");
  });

  it("takes the user id after the last | of a samlp externalId", async () => {
    await newHandler()(eventWith({ "completedChallenges.3": { id: "lesson-a", completedDate: 1 } }, "samlp|wipro-azuread|a@b.com"));
    assert.equal(puts()[0].query.get("userId"), "a@b.com");
  });

  it("reads a rewritten completedChallenges array, ignores other fields and sends each lesson once", async () => {
    const result = await newHandler()(
      eventWith({
        completedChallenges: [{ id: "lesson-a", completedDate: 1 }, { id: "lesson-b" }, { id: "lesson-a" }],
        "completedChallenges.7": { id: "lesson-c", completedDate: 2 },
        "progressTimestamps.40": 1661901841601,
        "savedChallenges.0": { id: "not-a-lesson" },
      }),
    );
    assert.equal(result.lessons, 3);
    assert.deepEqual(puts().map((p) => p.query.get("lessonId")).sort(), ["lesson-a", "lesson-b", "lesson-c"]);
  });

  it("asks for no token and calls nothing when the update completed no lesson", async () => {
    const result = await newHandler()(eventWith({ "progressTimestamps.40": 1661901841601 }));
    assert.deepEqual(result, { userId: "88778750", lessons: 0, completed: 0, refused: [], skipped: [] });
    assert.equal(server.requests.length, 0);
  });

  it("retries 500s with backoff and then succeeds", async () => {
    let calls = 0;
    api = () => (++calls <= 2 ? { status: 500, body: "boom" } : { status: 200 });
    const result = await newHandler()(realEvent());
    assert.equal(result.completed, 1);
    assert.equal(puts().length, 3);
  });

  it("retries a 429 and a dropped connection", async () => {
    let calls = 0;
    api = () => (++calls === 1 ? { status: 429 } : calls === 2 ? { reset: true } : { status: 200 });
    assert.equal((await newHandler()(realEvent())).completed, 1);
    assert.equal(puts().length, 3);
  });

  it("throws, naming the lesson, when the API keeps failing, after a bounded number of attempts", async () => {
    api = () => ({ status: 503 });
    await assert.rejects(newHandler()(realEvent()), /lessons not marked complete for user 88778750: failed after retries: 616d47bc9eedc4bc7f621bec \(PUT .* HTTP 503/);
    assert.equal(puts().length, FAST_RETRY.retries + 1);
    assert.equal(sqs.messages.length, 0, "a transient failure is left to EventBridge's retry and DLQ");
  });

  it("renews the token once on a 401", async () => {
    api = (req) => (req.headers.authorization === "Bearer token-1" ? { status: 401 } : { status: 200 });
    const result = await newHandler()(realEvent());
    assert.equal(result.completed, 1);
    assert.equal(tokensIssued, 2);
    assert.deepEqual(puts().map((p) => p.headers.authorization), ["Bearer token-1", "Bearer token-2"]);
  });

  it("does not retry a permanent 404, and keeps the event with the refusal in the failed-events queue", async () => {
    api = () => ({ status: 404, body: { message: "lesson not found" } });
    const event = realEvent();
    const result = await newHandler()(event);
    assert.deepEqual(result.refused, [{ lessonId: "616d47bc9eedc4bc7f621bec", status: 404 }]);
    assert.equal(puts().length, 1);
    assert.equal(sqs.messages.length, 1);
    const kept = JSON.parse(sqs.messages[0].body);
    assert.equal(sqs.messages[0].queueUrl, sqs.queueUrl("lessons-dlq"));
    assert.deepEqual(kept.refused, result.refused);
    assert.deepEqual(kept.event, event);
  });

  it("fails the invocation when a refused event cannot be kept", async () => {
    api = () => ({ status: 404 });
    sqs.failNext(10);
    await assert.rejects(newHandler()(realEvent()));
  });

  it("asks for one token across many invocations of a warm container", async () => {
    const handler = newHandler();
    for (let i = 0; i < 5; i++) await handler(eventWith({ [`completedChallenges.${i}`]: { id: `lesson-${i}` } }));
    assert.equal(tokensIssued, 1);
    assert.equal(handler.token.requests, 1);
    assert.equal(puts().length, 5);
  });

  describe("sending lessons", () => {
    const slowApi = (state: { inFlight: number; peak: number }) => async () => {
      state.inFlight += 1;
      state.peak = Math.max(state.peak, state.inFlight);
      await new Promise((r) => setTimeout(r, 10));
      state.inFlight -= 1;
      return { status: 200 };
    };
    const lessons = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`completedChallenges.${i}`, { id: `lesson-${i}` }]));

    it("sends the lessons of one event in order, one at a time, by default", async () => {
      const state = { inFlight: 0, peak: 0 };
      api = slowApi(state);
      assert.equal((await newHandler()(eventWith(lessons(4)))).completed, 4);
      assert.equal(state.peak, 1);
      assert.deepEqual(puts().map((p) => p.query.get("lessonId")), ["lesson-0", "lesson-1", "lesson-2", "lesson-3"]);
    });

    it("sends several at once when lessons.concurrency says so", async () => {
      const state = { inFlight: 0, peak: 0 };
      api = slowApi(state);
      assert.equal((await newHandler({ concurrency: 4 })(eventWith(lessons(12)))).completed, 12);
      assert.ok(state.peak <= 4 && state.peak > 1, `peak concurrency ${state.peak}`);
    });

    it("leaves a null e-mail address out of the query, as the original did", async () => {
      const event = realEvent();
      event.detail.fullDocument.email = null;
      await newHandler()(event);
      assert.deepEqual([...puts()[0].query.keys()], ["userId", "lessonId"]);
    });

    it("reports and skips a lesson element without a string id, and sends the others", async () => {
      const result = await newHandler()(
        eventWith({ "completedChallenges.1": { completedDate: 5 }, "completedChallenges.2": { id: "lesson-b" }, completedChallenges: [{ id: 7 }, { id: "lesson-c" }, null] }),
      );
      assert.deepEqual(result.skipped, [
        { field: "completedChallenges.1", reason: "has no id that is a non-empty string" },
        { field: "completedChallenges[0]", reason: "has no id that is a non-empty string" },
        { field: "completedChallenges[2]", reason: "has no id that is a non-empty string" },
      ]);
      assert.deepEqual(puts().map((p) => p.query.get("lessonId")), ["lesson-b", "lesson-c"]);
      assert.equal(result.completed, 2);
    });

    it("keeps an update that completes more lessons than lessons.maxLessonsPerEvent, with the reason, and sends none", async () => {
      const event = eventWith({ completedChallenges: Array.from({ length: 3000 }, (_, i) => ({ id: `lesson-${i}` })) });
      const result = await newHandler()(event);
      assert.equal(result.completed, 0);
      assert.equal(puts().length, 0);
      assert.equal(server.to("POST", "/oauth/token").length, 0);
      const kept = JSON.parse(sqs.messages[0].body);
      assert.match(kept.reason, /completes 3000 lessons at once, more than 100/);
      assert.deepEqual(kept.event, event);
    });
  });

  describe("bounds", () => {
    it("waits as long as a 429's Retry-After asks before trying again", async () => {
      let calls = 0;
      api = () => (++calls === 1 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 });
      const started = Date.now();
      assert.equal((await newHandler({ retry: { ...FAST_RETRY, maxRetryTimeMs: 5_000 } })(realEvent())).completed, 1);
      assert.ok(Date.now() - started >= 1_000, `waited ${Date.now() - started} ms`);
      assert.equal(puts().length, 2);
    });

    it("does not wait for a Retry-After longer than its bounds: it fails at once, and the event is retried", async () => {
      api = () => ({ status: 429, headers: { "retry-after": "10" } });
      const started = Date.now();
      await assert.rejects(newHandler()(realEvent()), /HTTP 429/);
      assert.ok(Date.now() - started < 1_000);
      assert.equal(puts().length, 1);
    });

    it("stops starting lessons when the invocation's time runs out, and throws naming those not done", async () => {
      api = () => ({ status: 503, delayMs: 100 });
      const fields = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`completedChallenges.${i}`, { id: `lesson-${i}` }]));
      const started = Date.now();
      await assert.rejects(
        newHandler({ budgetMarginMs: 500, retry: { ...FAST_RETRY, maxRetryTimeMs: 60_000, retries: 10 } })(eventWith(fields), withTimeLeft(1_500)),
        (err: Error) => /not started before the time budget ran out: .*lesson-11/.test(err.message),
      );
      assert.ok(Date.now() - started < 1_500, `took ${Date.now() - started} ms of a 1500 ms invocation`);
    });

    it("asks for the token once per invocation, with its own retries, however many lessons wait for it", async () => {
      tokenAnswer = () => ({ status: 503 });
      const fields = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`completedChallenges.${i}`, { id: `lesson-${i}` }]));
      await assert.rejects(newHandler()(eventWith(fields)), /failed after retries: lesson-0 \(no token: POST .* HTTP 503/);
      assert.equal(server.to("POST", "/oauth/token").length, FAST_RETRY.retries + 1);
      assert.equal(puts().length, 0);
    });

    it("reuses a short-lived token while it is valid, and reads expires_in given as a string", async () => {
      for (const expires_in of [30, "86400"]) {
        tokensIssued = 0;
        tokenAnswer = () => ({ body: { access_token: `token-${++tokensIssued}`, expires_in } });
        const handler = newHandler();
        for (let i = 0; i < 3; i++) await handler(realEvent());
        assert.equal(tokensIssued, 1, `expires_in ${JSON.stringify(expires_in)}`);
      }
    });
  });

  it("rejects a malformed event with an error naming the field, and makes no HTTP call", async () => {
    const noExternalId = realEvent();
    delete noExternalId.detail.fullDocument.externalId;
    await assert.rejects(newHandler()(noExternalId), (err: unknown) => err instanceof InvalidEventError && /detail\.fullDocument\.externalId/.test(err.message));

    await assert.rejects(newHandler()(eventWith({}, "auth0|")), /detail\.fullDocument\.externalId: has no user id/);
    await assert.rejects(newHandler()({}), /invalid Atlas trigger event: detail-type: .*; source: .*; detail: /);
    assert.equal(server.requests.length, 0);
  });

  it("logs no token, no secret and no full e-mail address", async () => {
    const lines: string[] = [];
    logger.setLogLevel("DEBUG");
    const [out, err] = [process.stdout.write, process.stderr.write];
    const capture = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
    process.stdout.write = capture;
    process.stderr.write = capture;
    try {
      api = () => ({ status: 404 });
      await newHandler()(realEvent());
    } finally {
      [process.stdout.write, process.stderr.write] = [out, err];
      logger.setLogLevel("SILENT");
    }
    const logged = lines.join("");
    assert.ok(logged.includes("c***@topcoder.com"), "the masked address is logged");
    assert.ok(logged.includes("event kept in the failed-events queue"));
    for (const secret of ["token-1", "client-secret-value", "chris.mccann@topcoder.com"]) assert.ok(!logged.includes(secret), `log holds ${secret}`);
  });
});
