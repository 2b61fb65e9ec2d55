import * as assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig, named, runProgram, SECRET_MARK, SECRET_PLACEHOLDER_PREFIX, findSecretLeaks, UnmockedCallError } from "../../tooling/mock-engine";

describe("mock-engine harness", () => {
  it("fails a run that makes an unmocked provider call, naming its token", async () => {
    await assert.rejects(
      runProgram(() => {
        aws.getAvailabilityZonesOutput({});
      }, { stack: "test" }),
      (err: unknown) =>
        err instanceof UnmockedCallError && err.tokens.includes("aws:index/getAvailabilityZones:getAvailabilityZones"),
    );
  });

  it("answers the AWS identity and region calls", async () => {
    const run = await runProgram(() => {
      const identity = aws.getCallerIdentityOutput();
      const region = aws.getRegionOutput();
      new aws.sns.Topic("t", { displayName: pulumi.interpolate`${identity.accountId}-${region.region}` });
    }, { stack: "test", config: { "aws:region": "eu-west-1" } });
    assert.equal(named(run, "aws:sns/topic:Topic", "t").inputs.displayName, "123456789012-eu-west-1");
  });

  it("records type, name, inputs, URN and parent, and waits for resources that depend on others", async () => {
    const run = await runProgram(() => {
      const parent = new pulumi.ComponentResource("test:index:Parent", "p");
      const queue = new aws.sqs.Queue("q", { delaySeconds: 5 }, { parent });
      // Registered only after the queue's ARN resolves.
      new aws.sqs.Queue("q2", { redrivePolicy: queue.arn.apply((arn) => JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 3 })) }, { parent });
    }, { stack: "test" });
    const q = named(run, "aws:sqs/queue:Queue", "q");
    const parent = named(run, "test:index:Parent", "p");
    assert.equal(q.parent, parent.urn);
    assert.equal(q.urn, "urn:pulumi:test::tributary::test:index:Parent$aws:sqs/queue:Queue::q");
    assert.equal(q.inputs.delaySeconds, 5);
    const q2 = named(run, "aws:sqs/queue:Queue", "q2");
    assert.deepEqual(JSON.parse(q2.inputs.redrivePolicy), { deadLetterTargetArn: q.state.arn, maxReceiveCount: 3 });
  });

  it("shows secrets as [secret] and finds a secret that lost its secrecy", async () => {
    const run = await runProgram(() => {
      const secret = new pulumi.Config().requireSecret("token");
      new aws.ssm.Parameter("kept", { type: "SecureString", value: secret });
      new aws.sns.Topic("leaked", { displayName: pulumi.unsecret(secret) });
    }, { stack: "test", config: { "tributary:token": `${SECRET_PLACEHOLDER_PREFIX}token` }, secretKeys: ["tributary:token"] });
    assert.equal(named(run, "aws:ssm/parameter:Parameter", "kept").inputs.value, SECRET_MARK);
    assert.equal(named(run, "aws:ssm/parameter:Parameter", "kept").rawInputs.value, `${SECRET_PLACEHOLDER_PREFIX}token`);
    assert.deepEqual(findSecretLeaks(run), ["aws:sns/topic:Topic::leaked.displayName"]);
  });

  it("loads a stack's settings file with placeholders for its secrets", () => {
    const { config, secretKeys } = loadStackConfig("dev");
    assert.equal(config["aws:region"], "eu-west-2");
    assert.equal(JSON.parse(config["tributary:alma"]).function.memoryMb, 256);
    assert.ok(secretKeys.includes("tributary:almaWebhookSecret"));
    assert.equal(config["tributary:almaWebhookSecret"], `${SECRET_PLACEHOLDER_PREFIX}tributary:almaWebhookSecret`);
  });

  it("refuses an unknown stack, naming the known ones", () => {
    assert.throws(() => loadStackConfig("qa"), /unknown stack "qa": there is no Pulumi.qa.yaml \(known stacks: dev, prod, staging\)/);
  });
});
