import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { configFromEnv, createHandler } from "../../handlers/lessons/handler";
import { buildResumeRecord, MAX_RECORD_BYTES, RESUME_KIND, type ResumeRecord } from "../../handlers/lessons/resume-record";
import { InvalidEventError } from "../../handlers/lib/events";
import { lambdaHandler, logger } from "../../handlers/lib/logger";
import { auth0TokenRoute } from "../../tooling/local/auth0";
import { localAwsEnv, setEnv } from "../../tooling/local/aws";
import { type FakeSqs, startFakeSqs } from "../../tooling/local/fake-sqs";
import { FAST_RETRY, type HttpStub, type RecordedRequest, type StubResponse, startStub } from "../../tooling/local/http-stub";
import { payloadPath } from "../helpers/fixtures";
import { captureLogs } from "../helpers/logs";

const FIXTURE = payloadPath("atlas-trigger", "user_update_event.json");
const realEvent = () => JSON.parse(fs.readFileSync(FIXTURE, "utf8"));
/** The Learning Paths API's endpoint (LEARNING_PATHS_API_ENDPOINT in docs/apps/lessons.md). */
const LESSON_PATH = "/v5/learning-paths/certification-progresses/complete-lesson-via-mongo-trigger";
/** dev's audience (docs/apps/lessons.md, "The audience"). */
const AUDIENCE = "https://m2m.topcoder-dev.com/";
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
  let tokenAnswer: (req: RecordedRequest) => StubResponse;

  before(async () => {
    sqs = await startFakeSqs();
    restoreEnv = setEnv(localAwsEnv({ AWS_ENDPOINT_URL_SQS: sqs.url }));
    server = await startStub((req) => {
      if (req.method === "POST" && req.path === "/oauth/token") return tokenAnswer(req);
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
    // The Auth0 stand-in: it checks the client, its secret and the audience, in a JSON or a form body.
    tokenAnswer = auth0TokenRoute({
      clients: { "m2m-client": "client-secret-value" },
      audiences: [AUDIENCE],
      token: () => `token-${++tokensIssued}`,
    });
  });

  const newHandler = (extra: Partial<Parameters<typeof createHandler>[0]> = {}) =>
    createHandler({
      tokenUrl: `${server.url}/oauth/token`,
      audience: AUDIENCE,
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
    assert.deepEqual(result, { userId: "88778750", lessons: 1, completed: 1, refused: [], skipped: [], parked: [] });

    // As Topcoder's m2m client library sends it: a JSON body with these fields.
    const [token] = server.to("POST", "/oauth/token");
    assert.equal(token.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(token.body), {
      grant_type: "client_credentials",
      client_id: "m2m-client",
      client_secret: "client-secret-value",
      audience: AUDIENCE,
      auth0_url: `${server.url}/oauth/token`,
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

  it("sends the original's own test event (fn_test.js, test_event.json) as the original did: one token, a PUT per lesson, in order", async () => {
    const event = JSON.parse(fs.readFileSync(payloadPath("atlas-trigger", "test_event.json"), "utf8"));
    const result = await newHandler()(event);
    assert.deepEqual(result, { userId: "88778750", lessons: 3, completed: 3, refused: [], skipped: [], parked: [] });
    assert.equal(server.to("POST", "/oauth/token").length, 1);
    assert.deepEqual(
      puts().map((p) => Object.fromEntries(p.query)),
      ["5e8f2f13c4cdbe86b5c72d94", "5e8f2f13c4cdbe86b5c72d95", "5e8f2f13c4cdbe86b5c72d96"].map((lessonId) => ({
        userId: "88778750",
        email: "chris.mccann@topcoder.com",
        lessonId,
      })),
    );
    assert.ok(puts().every((p) => p.headers.authorization === "Bearer token-1" && p.body === ""));
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
    assert.deepEqual(
      puts()
        .map((p) => p.query.get("lessonId"))
        .sort(),
      ["lesson-a", "lesson-b", "lesson-c"],
    );
  });

  it("asks for no token and calls nothing when the update completed no lesson", async () => {
    const result = await newHandler()(eventWith({ "progressTimestamps.40": 1661901841601 }));
    assert.deepEqual(result, { userId: "88778750", lessons: 0, completed: 0, refused: [], skipped: [], parked: [] });
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

  it("throws, naming the lesson, when the API keeps failing before any lesson was accepted, after a bounded number of attempts", async () => {
    api = () => ({ status: 503 });
    await assert.rejects(
      newHandler()(realEvent()),
      /no lesson marked complete for user 88778750, so the event is retried whole: lesson 616d47bc9eedc4bc7f621bec failed after retries: PUT .* HTTP 503/,
    );
    assert.equal(puts().length, FAST_RETRY.retries + 1);
    assert.equal(sqs.messages.length, 0, "with nothing accepted, the event is left to EventBridge's retry and DLQ");
  });

  it("renews the token once on a 401", async () => {
    api = (req) => (req.headers.authorization === "Bearer token-1" ? { status: 401 } : { status: 200 });
    const result = await newHandler()(realEvent());
    assert.equal(result.completed, 1);
    assert.equal(tokensIssued, 2);
    assert.deepEqual(
      puts().map((p) => p.headers.authorization),
      ["Bearer token-1", "Bearer token-2"],
    );
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
    assert.deepEqual(sqs.messages[0].attributes.kind, { DataType: "String", StringValue: RESUME_KIND });
    assert.equal(kept.kind, RESUME_KIND);
    assert.deepEqual(kept.refused, result.refused);
    assert.deepEqual(kept.remaining, [], "a refused lesson is not resent by a replay");
    assert.match(kept.reason, /1 lesson\(s\) refused by the Learning Paths API/);
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
    const lessons = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`completedChallenges.${i}`, { id: `lesson-${i}` }]));

    it("sends the lessons of one event in order, one at a time, by default", async () => {
      const state = { inFlight: 0, peak: 0 };
      api = slowApi(state);
      assert.equal((await newHandler()(eventWith(lessons(4)))).completed, 4);
      assert.equal(state.peak, 1);
      assert.deepEqual(
        puts().map((p) => p.query.get("lessonId")),
        ["lesson-0", "lesson-1", "lesson-2", "lesson-3"],
      );
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
        eventWith({
          "completedChallenges.1": { completedDate: 5 },
          "completedChallenges.2": { id: "lesson-b" },
          completedChallenges: [{ id: 7 }, { id: "lesson-c" }, null],
        }),
      );
      assert.deepEqual(result.skipped, [
        { field: "completedChallenges.1", reason: "has no id that is a non-empty string" },
        { field: "completedChallenges[0]", reason: "has no id that is a non-empty string" },
        { field: "completedChallenges[2]", reason: "has no id that is a non-empty string" },
      ]);
      assert.deepEqual(
        puts().map((p) => p.query.get("lessonId")),
        ["lesson-b", "lesson-c"],
      );
      assert.equal(result.completed, 2);
    });

    it("sends every lesson of a large update, in order, with no cap: 150 lessons, 150 PUTs", async () => {
      const result = await newHandler()(eventWith(lessons(150)));
      assert.deepEqual([result.lessons, result.completed, result.parked], [150, 150, []]);
      assert.deepEqual(
        puts().map((p) => p.query.get("lessonId")),
        Array.from({ length: 150 }, (_, i) => `lesson-${i}`),
      );
      assert.equal(sqs.messages.length, 0);
    });

    it("sends each element of a rewritten list of 1000 lessons", async () => {
      const event = eventWith({ completedChallenges: Array.from({ length: 1000 }, (_, i) => ({ id: `lesson-${i}`, completedDate: i })) });
      assert.equal((await newHandler()(event)).completed, 1000);
      assert.equal(new Set(puts().map((p) => p.query.get("lessonId"))).size, 1000);
    });
  });

  describe("the token request", () => {
    it("sends the same fields form-encoded when lessons.auth0.tokenRequestFormat is form, and the Auth0 stand-in takes both", async () => {
      assert.equal((await newHandler({ tokenRequestFormat: "form" })(realEvent())).completed, 1);
      const [token] = server.to("POST", "/oauth/token");
      assert.equal(token.headers["content-type"], "application/x-www-form-urlencoded");
      assert.deepEqual(Object.fromEntries(new URLSearchParams(token.body)), {
        grant_type: "client_credentials",
        client_id: "m2m-client",
        client_secret: "client-secret-value",
        audience: AUDIENCE,
        auth0_url: `${server.url}/oauth/token`,
      });
    });

    it("gets no token for an audience the tenant does not have (dev's former https://api.topcoder-dev.com/), sends nothing, and fails so that the event is retried", async () => {
      // Auth0's answer is told by its status and OAuth error code alone: its description stays out of logs and records.
      await assert.rejects(newHandler({ audience: "https://api.topcoder-dev.com/" })(realEvent()), (err: Error) => {
        assert.match(err.message, /no token: POST http:\/\/127\.0\.0\.1:\d+\/oauth\/token answered HTTP 403: access_denied$/);
        return true;
      });
      assert.equal(server.to("POST", "/oauth/token").length, 1, "a 403 is not retried");
      assert.equal(puts().length, 0);
      assert.equal(sqs.messages.length, 0);
    });

    it("reads the format from AUTH0_TOKEN_REQUEST_FORMAT: json by default, and refuses anything else, naming the variable", () => {
      const env = {
        AUTH0_URL: "https://topcoder-dev.auth0.com/oauth/token",
        AUTH0_AUDIENCE: AUDIENCE,
        AUTH0_CLIENT_ID: "m2m-client",
        LEARNING_PATHS_API_ENDPOINT: `https://api.topcoder-dev.com${LESSON_PATH}`,
      };
      assert.equal(configFromEnv(env).tokenRequestFormat, "json");
      assert.equal(configFromEnv({ ...env, AUTH0_TOKEN_REQUEST_FORMAT: "form" }).tokenRequestFormat, "form");
      assert.throws(
        () => configFromEnv({ ...env, AUTH0_TOKEN_REQUEST_FORMAT: "xml" }),
        /AUTH0_TOKEN_REQUEST_FORMAT must be one of json, form \(got "xml"\)/,
      );
      assert.throws(() => configFromEnv({ ...env, AUTH0_AUDIENCE: "" }), /AUTH0_AUDIENCE is not set/);
    });
  });

  describe("resumable records", () => {
    const lessons = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`completedChallenges.${i}`, { id: `lesson-${i}` }]));
    /** PUTs the API accepted, per lesson. */
    const accepted = new Map<string, number>();
    beforeEach(() => accepted.clear());
    const accept =
      () =>
      (req: RecordedRequest): StubResponse => {
        const id = req.query.get("lessonId")!;
        accepted.set(id, (accepted.get(id) ?? 0) + 1);
        return { status: 200 };
      };
    const record = (i = 0): ResumeRecord => JSON.parse(sqs.messages[i].body);

    it("after a 5xx on lesson k, keeps k and the lessons after it as a resumable record instead of failing, and a replay sends only those: each lesson accepted once", async () => {
      const event = eventWith(lessons(6));
      const ok = accept();
      let down = true;
      api = (req) => (down && req.query.get("lessonId") === "lesson-3" ? { status: 503 } : ok(req));
      const handler = newHandler();

      const first = await handler(event);
      assert.deepEqual([first.completed, first.parked], [3, ["lesson-3", "lesson-4", "lesson-5"]]);
      assert.equal(puts().filter((p) => p.query.get("lessonId") === "lesson-3").length, FAST_RETRY.retries + 1);
      assert.equal(
        puts().filter((p) => ["lesson-4", "lesson-5"].includes(p.query.get("lessonId")!)).length,
        0,
        "nothing after the failed lesson is sent out of order",
      );
      assert.equal(sqs.messages.length, 1);
      const kept = record();
      assert.equal(kept.kind, "lessons-resume");
      assert.deepEqual(kept.remaining, ["lesson-3", "lesson-4", "lesson-5"]);
      assert.deepEqual(kept.refused, []);
      assert.match(kept.reason, /^3 lesson\(s\) not sent: lesson lesson-3 failed after retries: PUT .* HTTP 503/);
      assert.ok(Math.abs(Date.parse(kept.failedAt) - Date.now()) < 10_000);
      assert.deepEqual(kept.event, event, "the event as it came, every field kept");

      down = false;
      const replay = await handler(kept);
      assert.deepEqual([replay.lessons, replay.completed, replay.parked], [3, 3, []]);
      assert.equal(sqs.messages.length, 1, "a complete replay leaves no new record");
      assert.deepEqual(Object.fromEntries(accepted), Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`lesson-${i}`, 1])));
      assert.deepEqual(
        puts()
          .slice(-3)
          .map((p) => p.query.get("lessonId")),
        ["lesson-3", "lesson-4", "lesson-5"],
      );
    });

    it("with lessons sent 4 at a time, keeps only those not accepted, and never re-sends an accepted one", async () => {
      const ok = accept();
      api = (req) => (req.query.get("lessonId") === "lesson-5" ? { status: 502 } : ok(req));
      const result = await newHandler({ concurrency: 4 })(eventWith(lessons(20)));
      const kept = record();
      assert.ok(kept.remaining.includes("lesson-5"));
      assert.ok(kept.remaining.length < 20 - 5);
      for (const id of kept.remaining) assert.equal(accepted.has(id), false, `${id} was accepted and kept`);
      assert.equal(result.completed + kept.remaining.length, 20);
      api = accept();
      await newHandler({ concurrency: 4 })(kept);
      assert.deepEqual(
        [...accepted.values()].filter((n) => n !== 1),
        [],
      );
      assert.equal(accepted.size, 20);
    });

    it("when nothing was accepted, throws so that EventBridge retries the whole event, and the retry sends each lesson once", async () => {
      const event = eventWith(lessons(3));
      const ok = accept();
      let down = true;
      api = (req) => (down ? { status: 500 } : ok(req));
      const handler = newHandler();
      await assert.rejects(handler(event), /no lesson marked complete .* retried whole: lesson lesson-0 failed after retries/);
      assert.equal(sqs.messages.length, 0);
      down = false;
      assert.equal((await handler(event)).completed, 3);
      assert.deepEqual(Object.fromEntries(accepted), { "lesson-0": 1, "lesson-1": 1, "lesson-2": 1 });
    });

    it("when the time budget ends before the last lesson, keeps the rest as a resumable record, and a replay sends only those", async () => {
      const ok = accept();
      api = async (req) => ({ ...ok(req), delayMs: 100 });
      const event = eventWith(lessons(12));
      const started = Date.now();
      const result = await newHandler({ budgetMarginMs: 500 })(event, withTimeLeft(1_000));
      assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms of a 1000 ms invocation`);
      assert.ok(result.completed >= 1 && result.completed < 12, `${result.completed} sent`);
      const kept = record();
      assert.deepEqual(
        kept.remaining,
        Array.from({ length: 12 - result.completed }, (_, i) => `lesson-${result.completed + i}`),
      );
      assert.match(kept.reason, /not sent: .*time budget ran out/);
      const firstPuts = puts().length;
      api = accept();
      await newHandler()(kept);
      assert.deepEqual(
        puts()
          .slice(firstPuts)
          .map((p) => p.query.get("lessonId")),
        kept.remaining,
        "the replay sends only the record's lessons, in order",
      );
      // Every lesson the first invocation saw accepted was sent once. (A PUT cut off by the deadline may have reached the API: it is the record's first lesson.)
      for (let i = 0; i < result.completed; i++) assert.equal(accepted.get(`lesson-${i}`), 1, `lesson-${i}`);
      assert.equal(accepted.size, 12);
    });

    it("carries a replayed record's refusals into the record it leaves, and replays nothing for a record with nothing remaining", async () => {
      const ok = accept();
      api = (req) =>
        req.query.get("lessonId") === "lesson-1" ? { status: 404 } : req.query.get("lessonId") === "lesson-3" ? { status: 503 } : ok(req);
      await newHandler()(eventWith(lessons(5)));
      const first = record();
      assert.deepEqual([first.remaining, first.refused], [["lesson-3", "lesson-4"], [{ lessonId: "lesson-1", status: 404 }]]);
      api = (req) => (req.query.get("lessonId") === "lesson-4" ? { status: 503 } : ok(req));
      await newHandler()(first);
      const second = record(1);
      assert.deepEqual([second.remaining, second.refused], [["lesson-4"], [{ lessonId: "lesson-1", status: 404 }]]);
      assert.deepEqual(second.event, first.event);
      const putsBefore = puts().length;
      const nothing = await newHandler()({ ...second, remaining: [] });
      assert.deepEqual([nothing.lessons, puts().length], [0, putsBefore]);
    });

    it("fails the invocation, naming the lessons, when a record cannot be kept (and there is no queue)", async () => {
      api = (req) => (req.query.get("lessonId") === "lesson-1" ? { status: 503 } : { status: 200 });
      await assert.rejects(
        newHandler({ failedEventsQueueUrl: undefined })(eventWith(lessons(2))),
        /1 lesson\(s\) not sent: .*no failed-events queue to keep the lessons \["lesson-1"\] in/,
      );
      sqs.failNext(10);
      await assert.rejects(newHandler()(eventWith(lessons(2))));
    });

    it("refuses a malformed record, naming the field", async () => {
      const good = buildResumeRecord(realEvent(), { reason: "r", remaining: ["a"], refused: [] });
      await assert.rejects(
        newHandler()({ ...good, remaining: "a" }),
        (err: Error) => err instanceof InvalidEventError && /invalid lessons-resume record: remaining: /.test(err.message),
      );
      await assert.rejects(newHandler()({ ...good, remaining: ["a", ""] }), /remaining\[1\]: must not be empty/);
      await assert.rejects(
        newHandler()({ ...good, event: { ...realEvent(), detail: { ...realEvent().detail, fullDocument: {} } } }),
        /event\.detail\.fullDocument\.externalId/,
      );
      assert.equal(server.requests.length, 0);
    });

    it("keeps a record within one SQS message: an event too large for it keeps its user, without its updatedFields", () => {
      const big = eventWith({
        completedChallenges: Array.from({ length: 2000 }, (_, i) => ({ id: `lesson-${i}`, files: [{ contents: "x".repeat(100) }] })),
      });
      const remaining = Array.from({ length: 2000 }, (_, i) => `lesson-${i}`);
      const kept = buildResumeRecord(big, { reason: "r", remaining, refused: [] });
      assert.ok(Buffer.byteLength(JSON.stringify(kept)) <= MAX_RECORD_BYTES);
      assert.deepEqual((kept.event as typeof big).detail.fullDocument, big.detail.fullDocument);
      assert.deepEqual((kept.event as typeof big).detail.updateDescription.updatedFields, {});
      assert.match(kept.eventTrimmed!, /updatedFields left out/);
      assert.deepEqual(kept.remaining, remaining);
      const small = buildResumeRecord(realEvent(), { reason: "r", remaining: ["a"], refused: [] });
      assert.equal(small.eventTrimmed, undefined);
      assert.deepEqual(small.event, realEvent());
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

    it("stops retrying when the invocation's time runs out, and throws when no lesson was accepted", async () => {
      api = () => ({ status: 503, delayMs: 100 });
      const fields = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`completedChallenges.${i}`, { id: `lesson-${i}` }]));
      const started = Date.now();
      await assert.rejects(
        newHandler({ budgetMarginMs: 500, retry: { ...FAST_RETRY, maxRetryTimeMs: 60_000, retries: 10 } })(
          eventWith(fields),
          withTimeLeft(1_500),
        ),
        /no lesson marked complete for user 88778750, so the event is retried whole: lesson lesson-0 /,
      );
      assert.ok(Date.now() - started < 1_500, `took ${Date.now() - started} ms of a 1500 ms invocation`);
      assert.deepEqual(new Set(puts().map((p) => p.query.get("lessonId"))), new Set(["lesson-0"]));
    });

    it("asks for the token once per invocation, with its own retries, however many lessons wait for it", async () => {
      tokenAnswer = () => ({ status: 503 });
      const fields = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`completedChallenges.${i}`, { id: `lesson-${i}` }]));
      await assert.rejects(newHandler()(eventWith(fields)), /retried whole: no token: POST .* HTTP 503/);
      assert.equal(server.to("POST", "/oauth/token").length, FAST_RETRY.retries + 1);
      assert.equal(puts().length, 0);
    });

    it("reuses a short-lived token while it is valid, and reads expires_in given as a string", async () => {
      for (const expires_in of [30, "86400"]) {
        tokensIssued = 0;
        tokenAnswer = auth0TokenRoute({
          clients: { "m2m-client": "client-secret-value" },
          audiences: [AUDIENCE],
          token: () => `token-${++tokensIssued}`,
          expiresIn: expires_in,
        });
        const handler = newHandler();
        for (let i = 0; i < 3; i++) await handler(realEvent());
        assert.equal(tokensIssued, 1, `expires_in ${JSON.stringify(expires_in)}`);
      }
    });
  });

  it("rejects a malformed event with an error naming the field, and makes no HTTP call", async () => {
    const noExternalId = realEvent();
    delete noExternalId.detail.fullDocument.externalId;
    await assert.rejects(
      newHandler()(noExternalId),
      (err: unknown) => err instanceof InvalidEventError && /detail\.fullDocument\.externalId/.test(err.message),
    );

    await assert.rejects(newHandler()(eventWith({}, "auth0|")), /detail\.fullDocument\.externalId: has no user id/);
    await assert.rejects(newHandler()({}), /invalid Atlas trigger event: detail-type: .*; source: .*; detail: /);
    assert.equal(server.requests.length, 0);
  });

  describe("a token endpoint that echoes its request", () => {
    const EMAIL = "chris.mccann@topcoder.com";
    const SECRET = "client-secret-value";
    /** Auth0 for the first token; afterwards it answers `status` with the request it got, as some endpoints' errors do. */
    const echoAfterFirst = (
      status: number,
      body: (req: RecordedRequest) => unknown = (req) => ({ error: "access_denied", request: req.body, contact: EMAIL }),
    ) => {
      const auth0 = tokenAnswer;
      let n = 0;
      tokenAnswer = (req) => (++n === 1 ? auth0(req) : { status, body: body(req) });
    };
    /** Everything the invocation left where people read: log lines, the thrown error as Lambda logs it, the queue's records. */
    const run = async (event: unknown) => {
      const handler = lambdaHandler(newHandler());
      const { result, logs } = await captureLogs("DEBUG", () =>
        handler(event).then(
          (r) => ({ ok: r }),
          (err: Error) => ({ err }),
        ),
      );
      return {
        result,
        logged: JSON.stringify(logs),
        thrown: "err" in result ? `${result.err.message}\n${result.err.stack}` : "",
        records: sqs.messages.map((m) => m.body),
      };
    };

    it("keeps its answer out of every log line and parked record, and masks the e-mail address in every log line", async () => {
      // lesson-1's 401 makes the handler renew its token; the endpoint then echoes the request (with the secret) and an address.
      let refused = false;
      api = (req) => (req.query.get("lessonId") === "lesson-1" && !refused ? ((refused = true), { status: 401 }) : { status: 200 });
      echoAfterFirst(401);
      const event = eventWith({
        "completedChallenges.0": { id: "lesson-0" },
        "completedChallenges.1": { id: "lesson-1" },
        "completedChallenges.2": { id: "lesson-2" },
      });
      const { result, logged, records } = await run(event);

      assert.deepEqual(result, {
        ok: { userId: "88778750", lessons: 3, completed: 1, refused: [], skipped: [], parked: ["lesson-1", "lesson-2"] },
      });
      assert.equal(server.to("POST", "/oauth/token").length, 2, "the renewal was asked for, and refused");
      assert.equal(records.length, 1);
      const record: ResumeRecord = JSON.parse(records[0]);
      assert.match(
        record.reason,
        /^2 lesson\(s\) not sent: lesson lesson-1 failed after retries: POST http:\/\/127\.0\.0\.1:\d+\/oauth\/token answered HTTP 401: access_denied$/,
      );
      for (const text of [logged, records[0]]) assert.ok(!text.includes(SECRET), `the secret in ${text}`);
      assert.ok(!record.reason.includes(EMAIL));
      assert.ok(!logged.includes(EMAIL), "a log line holds the address");
      assert.ok(logged.includes("c***@topcoder.com"), "the masked address is logged");
      // The record keeps the event whole: the replay's PUT sends the user's address in its query.
      assert.equal((record.event as { detail: { fullDocument: { email: string } } }).detail.fullDocument.email, EMAIL);
      tokenAnswer = auth0TokenRoute({ clients: { "m2m-client": SECRET }, audiences: [AUDIENCE] });
      const replay = await newHandler()(record);
      assert.deepEqual([replay.completed, replay.parked], [2, []]);
      assert.deepEqual(
        puts()
          .slice(-2)
          .map((p) => p.query.get("email")),
        [EMAIL, EMAIL],
      );
    });

    it("keeps it out of the error Lambda logs and keeps, whether it fails (5xx, retried), answers 200 without a token, or answers what is not JSON", async () => {
      const echoes: [number, (req: RecordedRequest) => unknown][] = [
        [503, (req) => ({ error: "temporarily_unavailable", request: req.body, contact: EMAIL })],
        [200, (req) => ({ request: req.body, contact: EMAIL })],
        [200, (req) => `${req.body} ${EMAIL}`],
        [400, (req) => ({ error: `${req.body} ${EMAIL}` })],
      ];
      for (const [status, body] of echoes) {
        tokensIssued = 0;
        tokenAnswer = () => ({ status, body: body(server.requests.at(-1)!) });
        const { result, logged, thrown, records } = await run(eventWith({ "completedChallenges.0": { id: "lesson-0" } }));
        assert.ok("err" in result, `HTTP ${status}: the event is retried whole`);
        assert.match(thrown, /^no lesson marked complete for user 88778750, so the event is retried whole: no token: /);
        assert.deepEqual(records, [], "nothing was sent, so nothing is parked");
        for (const text of [logged, thrown]) {
          assert.ok(!text.includes(SECRET), `HTTP ${status}: the secret in ${text}`);
          assert.ok(!text.includes(EMAIL), `HTTP ${status}: the address in ${text}`);
          assert.ok(!text.includes("request"), `HTTP ${status}: the echo in ${text}`);
        }
      }
      assert.equal(puts().length, 0);
    });

    it("keeps an API answer's e-mail address and the bearer token it echoes out of the record's reason and the logs", async () => {
      api = (req) =>
        req.query.get("lessonId") === "lesson-1"
          ? { status: 503, body: `PUT ${req.path}?email=${req.query.get("email")} with ${req.headers.authorization} failed for ${EMAIL}` }
          : { status: 200 };
      const { logged, records } = await run(
        eventWith({ "completedChallenges.0": { id: "lesson-0" }, "completedChallenges.1": { id: "lesson-1" } }),
      );
      const record: ResumeRecord = JSON.parse(records[0]);
      assert.match(
        record.reason,
        /answered HTTP 503: PUT \/v5\/.*\?email=c\*\*\*@topcoder\.com with \[redacted\] failed for c\*\*\*@topcoder\.com$/,
      );
      for (const text of [logged, record.reason]) {
        assert.ok(!text.includes("token-1"), `the token in ${text}`);
        assert.ok(!text.includes(EMAIL), `the address in ${text}`);
      }
    });
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
    assert.ok(logged.includes("lessons kept in the failed-events queue as a resumable record"));
    for (const secret of ["token-1", "client-secret-value", "chris.mccann@topcoder.com"])
      assert.ok(!logged.includes(secret), `log holds ${secret}`);
  });
});
