import * as assert from "node:assert/strict";
import { checkStack, deadLetterQueues } from "../../policy/rules";
import { policyResources, stackRun } from "../../tooling/mock-engine";
import { STAGES } from "../../components/platform";

describe("policy pack over every stack", () => {
  for (const stack of STAGES) {
    it(`${stack} has no mandatory violation, and reminds only of adopted resources' pending improvements`, async function () {
      this.timeout(60_000);
      const resources = policyResources(await stackRun(stack));
      const violations = checkStack(resources, { stage: stack });
      assert.deepEqual(
        violations.filter((v) => v.enforcementLevel === "mandatory"),
        [],
      );
      // The advisory reminder names each adopted resource that still waits for an improvement.
      const adopted = resources.filter((r) => r.ignoreChanges?.includes("tagsAll")).map((r) => r.urn);
      assert.ok(violations.every((v) => v.rule === "adopted-pending-hardening" && adopted.includes(v.urn)));
      assert.equal(violations.length > 0, stack !== "dev");
      // The rules see what they check: every app's dead-letter queues, functions and tables.
      assert.deepEqual(
        deadLetterQueues(resources)
          .map((q) => q.name)
          .sort(),
        ["alma-failed-events", "alma-users-dlq", "iota-records-failed-events", "lessons-failed-events", "skills-failed-invocations"],
      );
      assert.ok(resources.filter((r) => r.type === "aws:lambda/function:Function").length >= 9, "every app's functions are seen");
    });
  }
});
