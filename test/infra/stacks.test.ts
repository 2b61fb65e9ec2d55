import * as assert from "node:assert/strict";
import { findSecretLeaks, named, type RunResult, stackRun } from "../../tooling/mock-engine";
import { STAGES } from "../../components/platform";

const STACKS = STAGES;

describe("stacks through index.ts", () => {
  const runs = new Map<string, RunResult>();
  before(async function () {
    this.timeout(120_000);
    for (const stack of STACKS) runs.set(stack, await stackRun(stack));
  });

  for (const stack of STACKS) {
    describe(stack, () => {
      const run = () => runs.get(stack)!;

      it("exports its stage", () => {
        assert.equal(run().outputs.stage, stack);
      });

      it("notifies the stack's alarm topic by e-mail", () => {
        const topic = named(run(), "aws:sns/topic:Topic", "alerts");
        const subscription = named(run(), "aws:sns/topicSubscription:TopicSubscription", "alerts-email");
        assert.equal(subscription.rawInputs.topic, topic.state.arn);
        assert.equal(subscription.inputs.protocol, "email");
        assert.match(subscription.inputs.endpoint, /@example\.com$/);
        assert.equal(run().outputs.alertTopicArn, topic.state.arn);
        // An app in another region has its alarms notify a topic there, with the same subscription.
        for (const [region, arn] of Object.entries<string>(run().outputs.alertTopicArns)) {
          if (arn === topic.state.arn) continue;
          const regional = named(run(), "aws:sns/topic:Topic", `alerts-${region}`);
          assert.equal(regional.state.arn, arn);
          assert.ok(arn.startsWith(`arn:aws:sns:${region}:`));
          const email = named(run(), "aws:sns/topicSubscription:TopicSubscription", `alerts-${region}-email`);
          assert.equal(email.rawInputs.topic, arn);
          assert.equal(email.inputs.endpoint, subscription.inputs.endpoint);
        }
      });

      it("shows no secret in clear in any input or output", () => {
        assert.deepEqual(findSecretLeaks(run()), []);
      });

      it("parents every resource and prefixes each child's name with its component's", () => {
        const byUrn = new Map(run().resources.map((r) => [r.urn, r]));
        for (const r of run().resources) {
          if (r.type === "pulumi:pulumi:Stack") continue;
          const parent = r.parent ? byUrn.get(r.parent) : undefined;
          assert.ok(parent, `${r.type}::${r.name} has a recorded parent`);
          if (parent.type.startsWith("tributary:")) {
            assert.ok(r.name.startsWith(parent.name), `${r.type}::${r.name} is named after its component ${parent.name}`);
          }
        }
      });
    });
  }
});
