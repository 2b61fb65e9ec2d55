/** Bad input and faults of lesson-completed (the lessons app): see test/helpers/faults.ts. */
import * as assert from "node:assert/strict";
import { createHandler } from "../../handlers/lessons/handler";
import { FAST_RETRY, type HttpStub, type StubResponse, startStub } from "../../tooling/local/http-stub";
import { type BadInput, fixture, OVERSIZED, useFaultRig, WEIRD_ID } from "../helpers/faults";

describe("bad input and faults", function () {
  this.timeout(60_000);
  const rig = useFaultRig();

  describe("lesson-completed", () => {
    let api: HttpStub;
    let behaviour: () => StubResponse;
    before(async () => {
      api = await startStub((req) => (req.path === "/token" ? { body: { access_token: "t", expires_in: 3600 } } : behaviour()));
    });
    after(() => api.close());
    beforeEach(() => {
      api.requests.length = 0;
      behaviour = () => ({ status: 200 });
    });
    const handler = () =>
      createHandler({
        tokenUrl: `${api.url}/token`,
        audience: "aud",
        clientId: "id",
        clientSecret: async () => "secret",
        endpoint: `${api.url}/lp`,
        failedEventsQueueUrl: rig.sqs.queueUrl("failed"),
        retry: FAST_RETRY,
      });
    const event = (detail: Record<string, unknown>) => ({ ...fixture("atlas-trigger/user_update_event.json"), detail });
    const detail = () => fixture("atlas-trigger/user_update_event.json").detail;

    const cases: BadInput[] = [
      { name: "empty event", event: {}, error: /invalid Atlas trigger event: detail-type: .*source: .*detail: / },
      {
        name: "SNS envelope where EventBridge is expected",
        event: { Records: [{ EventSource: "aws:sns", Sns: { Message: "{}" } }] },
        error: /detail-type/,
      },
      {
        name: "missing externalId",
        event: event({ ...detail(), fullDocument: { email: "a@b.c" } }),
        error: /detail\.fullDocument\.externalId/,
      },
      {
        name: "wrong type of updatedFields",
        event: event({ ...detail(), updateDescription: { updatedFields: "completedChallenges" } }),
        error: /detail\.updateDescription\.updatedFields/,
      },
      { name: "unknown operation type", event: event({ ...detail(), operationType: "drop" }), error: /detail\.operationType/ },
      { name: "oversized payload", event: event({ ...detail(), padding: OVERSIZED }), error: /is \d+ bytes; at most 262144/ },
    ];
    for (const c of cases) {
      it(`refuses ${c.name}, naming the field, and calls nothing`, async () => {
        await assert.rejects(handler()(c.event), c.error);
        assert.equal(api.requests.length, 0);
        assert.equal(rig.sqs.messages.length, 0);
      });
    }

    it("passes unicode and injection-looking ids through verbatim", async () => {
      await handler()(
        event({
          ...detail(),
          fullDocument: { externalId: `auth0|${WEIRD_ID}`, email: "a@b.c" },
          updateDescription: { updatedFields: { "completedChallenges.0": { id: WEIRD_ID } } },
        }),
      );
      const [put] = api.to("PUT", "/lp");
      assert.equal(put.query.get("userId"), WEIRD_ID);
      assert.equal(put.query.get("lessonId"), WEIRD_ID);
    });

    for (const [name, fault] of [
      ["HTTP 500", { status: 500 }],
      ["HTTP 429", { status: 429 }],
      ["a slow answer", { status: 200, delayMs: 800 }],
      ["a dropped connection", { reset: true }],
    ] as [string, StubResponse][]) {
      it(`retries ${name} within bounds, then succeeds`, async () => {
        let calls = 0;
        behaviour = () => (++calls === 1 ? fault : { status: 200 });
        assert.equal((await handler()(fixture("atlas-trigger/user_update_event.json"))).completed, 1);
        assert.equal(calls, 2);
      });
    }

    it("skips a lesson whose id is of the wrong type, reporting it, and calls nothing for it", async () => {
      const result = await handler()(event({ ...detail(), updateDescription: { updatedFields: { "completedChallenges.1": { id: 42 } } } }));
      assert.deepEqual(result.skipped, [{ field: "completedChallenges.1", reason: "has no id that is a non-empty string" }]);
      assert.equal(api.requests.length, 0);
    });

    it("throws after its bounded retries when the API stays down, keeping nothing back", async () => {
      behaviour = () => ({ status: 503 });
      await assert.rejects(
        handler()(fixture("atlas-trigger/user_update_event.json")),
        /no lesson marked complete for user 88778750, so the event is retried whole: lesson 616d47bc9eedc4bc7f621bec failed after retries/,
      );
      assert.equal(api.to("PUT", "/lp").length, FAST_RETRY.retries + 1);
      assert.equal(rig.sqs.messages.length, 0, "EventBridge's retry and DLQ keep the event, not the handler");
    });
  });
});
