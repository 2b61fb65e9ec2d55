import * as assert from "node:assert/strict";
import { checkStack, deadLetterQueues } from "../../policy/rules";
import { policyResources, stackRun } from "../../tooling/mock-engine";
import { STAGES } from "../../components/platform";

describe("policy pack over every stack", () => {
  for (const stack of STAGES) {
    it(`${stack} has no violation`, async function () {
      this.timeout(60_000);
      const resources = policyResources(await stackRun(stack));
      assert.deepEqual(checkStack(resources, { stage: stack }), []);
      // The rules see what they check: every app's dead-letter queues, functions and tables.
      assert.deepEqual(deadLetterQueues(resources).map((q) => q.name).sort(), [
        "alma-failed-events",
        "alma-users-dlq",
        "iota-records-failed-events",
        "lessons-failed-events",
        "skills-failed-invocations",
      ]);
      assert.ok(resources.filter((r) => r.type === "aws:lambda/function:Function").length >= 9, "every app's functions are seen");
    });
  }
});
