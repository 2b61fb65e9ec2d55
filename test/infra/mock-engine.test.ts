import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  loadStackConfig,
  named,
  runProgram,
  SECRET_MARK,
  SECRET_PLACEHOLDER_PREFIX,
  SettingsFileError,
  findSecretLeaks,
  UnmockedCallError,
} from "../../tooling/mock-engine";

describe("mock-engine harness", () => {
  it("fails a run that makes an unmocked provider call, naming its token", async () => {
    await assert.rejects(
      runProgram(
        () => {
          aws.getAvailabilityZonesOutput({});
        },
        { stack: "test" },
      ),
      (err: unknown) => err instanceof UnmockedCallError && err.tokens.includes("aws:index/getAvailabilityZones:getAvailabilityZones"),
    );
  });

  it("answers the AWS identity and region calls", async () => {
    const run = await runProgram(
      () => {
        const identity = aws.getCallerIdentityOutput();
        const region = aws.getRegionOutput();
        new aws.sns.Topic("t", { displayName: pulumi.interpolate`${identity.accountId}-${region.region}` });
      },
      { stack: "test", config: { "aws:region": "eu-west-1" } },
    );
    assert.equal(named(run, "aws:sns/topic:Topic", "t").inputs.displayName, "123456789012-eu-west-1");
  });

  it("records type, name, inputs, URN and parent, and waits for resources that depend on others", async () => {
    const run = await runProgram(
      () => {
        const parent = new pulumi.ComponentResource("test:index:Parent", "p");
        const queue = new aws.sqs.Queue("q", { delaySeconds: 5 }, { parent });
        // Registered only after the queue's ARN resolves.
        new aws.sqs.Queue(
          "q2",
          { redrivePolicy: queue.arn.apply((arn) => JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 3 })) },
          { parent },
        );
      },
      { stack: "test" },
    );
    const q = named(run, "aws:sqs/queue:Queue", "q");
    const parent = named(run, "test:index:Parent", "p");
    assert.equal(q.parent, parent.urn);
    assert.equal(q.urn, "urn:pulumi:test::tributary::test:index:Parent$aws:sqs/queue:Queue::q");
    assert.equal(q.inputs.delaySeconds, 5);
    const q2 = named(run, "aws:sqs/queue:Queue", "q2");
    assert.deepEqual(JSON.parse(q2.inputs.redrivePolicy), { deadLetterTargetArn: q.state.arn, maxReceiveCount: 3 });
  });

  it("gives the URNs the engine gives: a type qualified by every ancestor's type but the root stack's", async () => {
    const run = await runProgram(
      () => {
        const app = new pulumi.ComponentResource("test:index:App", "app");
        const part = new pulumi.ComponentResource("test:index:Part", "app-part", {}, { parent: app });
        new aws.sqs.Queue("app-part-queue", {}, { parent: part });
      },
      { stack: "test" },
    );
    const stack = named(run, "pulumi:pulumi:Stack", "tributary-test");
    const app = named(run, "test:index:App", "app");
    const part = named(run, "test:index:Part", "app-part");
    const queue = named(run, "aws:sqs/queue:Queue", "app-part-queue");
    assert.equal(stack.urn, "urn:pulumi:test::tributary::pulumi:pulumi:Stack::tributary-test");
    assert.equal(app.urn, "urn:pulumi:test::tributary::test:index:App::app");
    assert.equal(part.urn, "urn:pulumi:test::tributary::test:index:App$test:index:Part::app-part");
    assert.equal(queue.urn, "urn:pulumi:test::tributary::test:index:App$test:index:Part$aws:sqs/queue:Queue::app-part-queue");
    assert.deepEqual([app.parent, part.parent, queue.parent], [stack.urn, app.urn, part.urn]);
  });

  it("records each alias as the URN the engine derives from it, the resource's own values filling in what it leaves out", async () => {
    const run = await runProgram(
      () => {
        const app = new pulumi.ComponentResource("test:index:App", "app");
        const part = new pulumi.ComponentResource("test:index:Part", "app-part", {}, { parent: app });
        new aws.sqs.Queue(
          "q",
          {},
          {
            parent: part,
            aliases: [
              { name: "old-q" },
              { parent: app },
              { name: "top-q", parent: undefined },
              { type: "aws:sqs/queue:OldQueue", stack: "other", project: "elsewhere" },
              "urn:pulumi:test::tributary::aws:sqs/queue:Queue::literal",
            ],
          },
        );
        aws.sqs.Queue.get("read", "https://sqs.eu-west-2.amazonaws.com/123456789012/read", {}, { parent: app });
      },
      { stack: "test" },
    );
    assert.deepEqual(named(run, "aws:sqs/queue:Queue", "q").options.aliases, [
      "urn:pulumi:test::tributary::test:index:App$test:index:Part$aws:sqs/queue:Queue::old-q",
      "urn:pulumi:test::tributary::test:index:App$aws:sqs/queue:Queue::q",
      "urn:pulumi:test::tributary::aws:sqs/queue:Queue::top-q",
      "urn:pulumi:other::elsewhere::test:index:App$test:index:Part$aws:sqs/queue:OldQueue::q",
      "urn:pulumi:test::tributary::aws:sqs/queue:Queue::literal",
    ]);
    assert.deepEqual(named(run, "test:index:App", "app").options.aliases, []);
    const read = named(run, "aws:sqs/queue:Queue", "read");
    assert.equal(read.read, true);
    assert.deepEqual(read.options.aliases, []);
  });

  it("shows secrets as [secret] and finds a secret that lost its secrecy", async () => {
    const run = await runProgram(
      () => {
        const secret = new pulumi.Config().requireSecret("token");
        new aws.ssm.Parameter("kept", { type: "SecureString", value: secret });
        new aws.sns.Topic("leaked", { displayName: pulumi.unsecret(secret) });
      },
      { stack: "test", config: { "tributary:token": `${SECRET_PLACEHOLDER_PREFIX}token` }, secretKeys: ["tributary:token"] },
    );
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

  it("names a settings file it cannot read, and the line and column of a YAML error, as SettingsFileErrors", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "settings-"));
    try {
      const missing = path.join(dir, "nope.yaml");
      assert.throws(
        () => loadStackConfig("dev", missing),
        (err: Error) =>
          err instanceof SettingsFileError && err.message === `cannot read the settings file ${missing}: there is no such file`,
      );
      const broken = path.join(dir, "broken.yaml");
      fs.writeFileSync(broken, "config:\n  aws:region: eu-west-2\n\taws:profile: x\n");
      assert.throws(
        () => loadStackConfig("dev", broken),
        (err: Error) =>
          err instanceof SettingsFileError && err.message.startsWith(`${broken}:3:1: not valid YAML: Tabs are not allowed as indentation`),
      );
      const list = path.join(dir, "list.yaml");
      fs.writeFileSync(list, "config:\n  - aws:region\n");
      assert.throws(() => loadStackConfig("dev", list), /list\.yaml: not a stack settings file: its keys go under a `config:` mapping/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lists the needed secrets the file lacks, each with the command that stores it encrypted", () => {
    const { missingSecrets, environments } = loadStackConfig("dev");
    assert.deepEqual(environments, []);
    const webhook = missingSecrets.find((m) => m.key === "tributary:almaWebhookSecret");
    assert.deepEqual(webhook, {
      key: "tributary:almaWebhookSecret",
      app: "alma",
      description: "Alma webhook signing secret",
      command: "pulumi config set --secret tributary:almaWebhookSecret <value> --stack dev",
    });
    assert.ok(!missingSecrets.some((m) => m.key === "tributary:githubToken"), "optional: not needed");
    // What the file holds encrypted is not missing.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "settings-"));
    try {
      const file = path.join(dir, "Pulumi.dev.yaml");
      fs.writeFileSync(file, "config:\n  tributary:alma: {}\n  tributary:almaWebhookSecret:\n    secure: AAABAA==\n");
      assert.deepEqual(loadStackConfig("dev", file).missingSecrets, []);
      fs.writeFileSync(file, "config:\n  tributary:alma: {}\n");
      assert.deepEqual(
        loadStackConfig("dev", file).missingSecrets.map((m) => m.key),
        ["tributary:almaWebhookSecret"],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
