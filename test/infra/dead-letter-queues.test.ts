/**
 * The stack's `deadLetterQueues` output, which the replay command (`npm run dlq`) reads: every
 * dead-letter queue the stack makes is there once, with where its messages go back to.
 */
import * as assert from "node:assert/strict";
import { CACHE_FUNCTIONS } from "../../apps/alma/alma-cache";
import { STAGES } from "../../components/platform";
import { queuesFromOutputs } from "../../scripts/dlq";
import { childrenOf, named, ofType, type RecordedResource, type RunResult, stackRun } from "../../tooling/mock-engine";

describe("the deadLetterQueues stack output", () => {
  const runs = new Map<string, RunResult>();
  before(async function () {
    this.timeout(120_000);
    for (const stack of STAGES) runs.set(stack, await stackRun(stack));
  });

  const queueOf = (run: RunResult, dlq: RecordedResource) => childrenOf(run, dlq).find((r) => r.type === "aws:sqs/queue:Queue")!;
  const fnName = (run: RunResult, name: string) => named(run, "aws:lambda/function:Function", name).state.name;

  for (const stack of STAGES) {
    describe(stack, () => {
      const run = () => runs.get(stack)!;
      const entries = () => queuesFromOutputs(run().outputs, `${stack}'s outputs`);
      const entry = (name: string) => entries().find((e) => e.name === name)!;

      it("lists every DeadLetterQueue of the stack once, by its logical name, URL and ARN", () => {
        const dlqs = ofType(run(), "tributary:events:DeadLetterQueue");
        assert.ok(dlqs.length >= 5);
        assert.deepEqual(
          entries()
            .map((e) => [e.name, e.url, e.arn])
            .sort(),
          dlqs.map((d) => [d.name, queueOf(run(), d).state.url, queueOf(run(), d).state.arn]).sort(),
        );
      });

      it("holds every queue that a function, rule, schedule, subscription or queue parks failures in", () => {
        const arns = new Set(entries().map((e) => e.arn));
        const targets = [
          ...ofType(run(), "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").map(
            (c) => c.rawInputs.destinationConfig?.onFailure?.destination,
          ),
          ...ofType(run(), "aws:cloudwatch/eventTarget:EventTarget").map((t) => t.rawInputs.deadLetterConfig?.arn),
          ...ofType(run(), "aws:scheduler/schedule:Schedule").map((s) => s.rawInputs.target.deadLetterConfig?.arn),
          ...ofType(run(), "aws:sns/topicSubscription:TopicSubscription").map(
            (s) => s.rawInputs.redrivePolicy && JSON.parse(s.rawInputs.redrivePolicy).deadLetterTargetArn,
          ),
          ...ofType(run(), "aws:sqs/queue:Queue").map(
            (q) => q.rawInputs.redrivePolicy && JSON.parse(q.rawInputs.redrivePolicy).deadLetterTargetArn,
          ),
        ].filter((arn): arn is string => typeof arn === "string");
        assert.ok(targets.length > 10);
        for (const arn of targets) assert.ok(arns.has(arn), `${arn} is in deadLetterQueues`);
      });

      it("sends alma's failed events back to the function of the queue or topic they came from", () => {
        const failed = entry("alma-failed-events");
        const expected = CACHE_FUNCTIONS.flatMap((spec) => {
          const short = spec.handler.replace(/^alma-/, "");
          const fn = fnName(run(), `alma-${short}`);
          return [
            [named(run(), "aws:sqs/queue:Queue", `alma-${short}-queue`).state.arn, fn],
            ...spec.topics.map((event) => [
              named(run(), "aws:sns/topic:Topic", `alma-topic-${event.toLowerCase().replace(/_/g, "-")}`).state.arn,
              fn,
            ]),
          ];
        });
        assert.deepEqual(failed.sources!.map((s) => [s.arn, s.functionName]).sort(), expected.sort());
        assert.equal(failed.sources!.length, 4 + 8);
        assert.equal(failed.functionName, undefined);
      });

      it("sends the users DLQ's messages back to the users queue, whose consumer is outside the stack", () => {
        const users = named(run(), "aws:sqs/queue:Queue", "alma-users");
        assert.deepEqual(entry("alma-users-dlq").sendBackTo, { url: users.state.url, arn: users.state.arn });
      });

      it("names the function that takes lessons', skills' and each iota service's records, and marks skills' sync as reconciling", () => {
        assert.equal(entry("lessons-failed-events").functionName, fnName(run(), "lessons-lesson-completed"));
        assert.equal(entry("skills-failed-invocations").functionName, fnName(run(), "skills-sync"));
        assert.equal(entry("skills-failed-invocations").reconciles, true);
        assert.equal(entry("lessons-failed-events").reconciles, undefined);
        const iota = entries().filter((e) => e.app === "iota");
        assert.ok(iota.length >= 1);
        for (const e of iota) assert.equal(e.functionName, fnName(run(), e.name.replace(/-failed-events$/, "-fn")));
      });

      it("keeps the outputs that were there before", () => {
        for (const key of ["alertTopicArn", "almaCache", "hdocBackend", "iota", "lessonsSync", "skillAppSync", "stage"])
          assert.ok(key in run().outputs, key);
        assert.equal(run().outputs.lessonsSync.failedEventsQueueUrl, entry("lessons-failed-events").url);
      });
    });
  }
});
