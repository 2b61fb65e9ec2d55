import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { ADOPTED_CLIENT_KEEPS, ADOPTED_POOL_KEEPS } from "../../components/hdoc/auth";
import { ADOPTED_TABLE_KEEPS } from "../../components/storage/table";
import { named, ofType, policyOf, type RecordedResource, REPO_ROOT, type RunResult, runStack, stackRun } from "../../tooling/mock-engine";

/** Every stateful resource type of the program. */
const STATEFUL_TYPES = [
  "aws:dynamodb/table:Table",
  "aws:sqs/queue:Queue",
  "aws:sns/topic:Topic",
  "aws:s3/bucket:Bucket",
  "aws:ecr/repository:Repository",
  "aws:cognito/userPool:UserPool",
  "aws:cloudwatch/eventBus:EventBus",
];

/** The options that decide adoption (aliases have their own test: urns.test.ts). */
const adoption = ({ aliases: _, ...options }: RecordedResource["options"]) => options;

const prodSettings = parseYaml(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.prod.yaml"), "utf8")).config;

describe("adopting what already runs (prod)", () => {
  let prod: RunResult;
  before(async function () {
    this.timeout(90_000);
    prod = await stackRun("prod");
  });

  /** The resource of `type` named `name`, checked to be adopted by `importId`: protected, retained, never created. */
  const adopted = (type: string, name: string, importId: string, keep: string[] = []): RecordedResource => {
    const r = named(prod, type, name);
    assert.deepEqual(adoption(r.options), { import: importId, protect: true, retainOnDelete: true, ignoreChanges: keep }, `${type} ${name}`);
    return r;
  };

  it("alma: imports the three tables by name, keeping their key schema", () => {
    for (const [key, hashKey] of [["users", "primary_id"], ["loans", "loan_id"], ["requests", "request_id"]]) {
      const existing = prodSettings["tributary:alma"].tableNames[key];
      const table = adopted("aws:dynamodb/table:Table", `alma-${key}`, existing, ADOPTED_TABLE_KEEPS);
      assert.equal(table.inputs.name, existing);
      assert.equal(table.inputs.hashKey, hashKey);
      assert.equal(table.state.name, existing);
    }
  });

  it("alma: imports the eight topics by ARN and the users queue and its DLQ by URL, and wires them as before", () => {
    const { topicArns, usersQueueUrl, usersDeadLetterQueueUrl } = prodSettings["tributary:alma"];
    for (const [event, arn] of Object.entries<string>(topicArns)) {
      const topic = adopted("aws:sns/topic:Topic", `alma-topic-${event.toLowerCase().replace(/_/g, "-")}`, arn);
      assert.equal(topic.inputs.name, arn.split(":").pop());
      assert.equal(topic.state.arn, arn);
    }
    const users = adopted("aws:sqs/queue:Queue", "alma-users", usersQueueUrl);
    const dlq = adopted("aws:sqs/queue:Queue", "alma-users-dlq", usersDeadLetterQueueUrl);
    assert.equal(users.inputs.name, "lag-suc-prod-usersQueue");
    assert.equal(dlq.inputs.name, "lag-suc-prod-usersDLQ");
    assert.deepEqual(JSON.parse(users.rawInputs.redrivePolicy), { deadLetterTargetArn: dlq.state.arn, maxReceiveCount: 3 });
    assert.equal(named(prod, "aws:lambda/function:Function", "alma-loan-updated").rawInputs.environment.variables.USERS_QUEUE_URL, usersQueueUrl);
    assert.equal(prod.outputs.almaCache.topicArns.LOAN_CREATED, topicArns.LOAN_CREATED);
  });

  it("hdoc: imports the users table, the user pool with its own settings, its app client and its domain, and the site bucket", () => {
    const hdoc = prodSettings["tributary:hdoc"];
    adopted("aws:dynamodb/table:Table", "hdoc-users", hdoc.usersTableName, ADOPTED_TABLE_KEEPS);
    adopted("aws:cognito/userPool:UserPool", "hdoc-auth", hdoc.auth.userPoolId, ADOPTED_POOL_KEEPS);
    adopted("aws:cognito/userPoolClient:UserPoolClient", "hdoc-auth-client", `${hdoc.auth.userPoolId}/${hdoc.auth.clientId}`, ADOPTED_CLIENT_KEEPS);
    adopted("aws:cognito/userPoolDomain:UserPoolDomain", "hdoc-auth-domain", hdoc.auth.domainPrefix);
    const bucket = adopted("aws:s3/bucket:Bucket", "hdoc-frontend-site", hdoc.frontend.bucketName);
    assert.equal(bucket.inputs.bucket, hdoc.frontend.bucketName);
    assert.equal(bucket.inputs.forceDestroy, undefined, "an adopted bucket is never force-deleted");
    const policy = policyOf(named(prod, "aws:s3/bucketPolicy:BucketPolicy", "hdoc-frontend-site-policy"));
    assert.equal(policy.Statement[0].Resource, `arn:aws:s3:::${hdoc.frontend.bucketName}/*`);
  });

  it("skills: imports the ECR repository and the bot's templates bucket", () => {
    const skills = prodSettings["tributary:skills"];
    const repository = adopted("aws:ecr/repository:Repository", "skills-images", skills.repositoryName);
    assert.equal(repository.inputs.name, skills.repositoryName);
    assert.equal(repository.inputs.forceDelete, undefined);
    adopted("aws:s3/bucket:Bucket", "skills-templates", skills.templates.bucketName);
  });

  it("iota: imports the shared bus once, by name", () => {
    const bus = adopted("aws:cloudwatch/eventBus:EventBus", "iota-bus", "iota-prod", ["description"]);
    assert.equal(bus.inputs.name, "iota-prod");
    assert.equal(ofType(prod, "aws:cloudwatch/eventBus:EventBus").filter((b) => b.name.startsWith("iota")).length, 1);
  });

  it("lessons: imports the trigger by project--app--trigger id and the partner bus named after it", () => {
    const { projectId, appId, triggerId } = prodSettings["tributary:lessons"].atlas;
    adopted("mongodbatlas:index/eventTrigger:EventTrigger", "lessons-trigger", `${projectId}--${appId}--${triggerId}`, ["name"]);
    const bus = adopted(
      "aws:cloudwatch/eventBus:EventBus",
      "lessons-trigger-bus",
      `aws.partner/mongodb.com/stitch.trigger/${triggerId}`,
      ["eventSourceName"],
    );
    assert.equal(bus.inputs.name, `aws.partner/mongodb.com/stitch.trigger/${triggerId}`);
  });

  it("protects every stateful resource in prod", () => {
    for (const type of STATEFUL_TYPES) {
      for (const r of ofType(prod, type)) {
        if (r.name === "alerts") continue;
        assert.equal(r.options.protect, true, `${type} ${r.name}`);
        assert.equal(r.options.retainOnDelete, true, `${type} ${r.name}`);
      }
    }
  });
});

describe("stateful resources a stack creates (dev)", () => {
  let dev: RunResult;
  before(async function () {
    this.timeout(90_000);
    dev = await stackRun("dev");
  });

  it("creates them, unprotected, retained on delete (the stage default), with no import", () => {
    for (const type of STATEFUL_TYPES) {
      for (const r of ofType(dev, type)) {
        if (r.name === "alerts") continue;
        assert.deepEqual(adoption(r.options), { import: undefined, protect: false, retainOnDelete: true, ignoreChanges: [] }, `${type} ${r.name}`);
      }
    }
  });

  it("lets the buckets and the image repository be deleted with their contents outside prod", async () => {
    for (const name of ["skills-templates", "hdoc-frontend-site"]) assert.equal(named(dev, "aws:s3/bucket:Bucket", name).inputs.forceDestroy, true);
    assert.equal(named(dev, "aws:ecr/repository:Repository", "skills-images").inputs.forceDelete, true);
    const staging = await stackRun("staging");
    assert.equal(named(staging, "aws:s3/bucket:Bucket", "skills-templates").inputs.forceDestroy, true);
  });

  it("retains nothing it created when the stack says so, but still everything it adopted", async function () {
    this.timeout(60_000);
    const settings = parseYaml(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8"));
    settings.config["tributary:retainStatefulResources"] = false;
    settings.config["tributary:iota"].eventBusName = "iota-shared";
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "adopt-")), "Pulumi.dev.yaml");
    fs.writeFileSync(file, toYaml(settings));
    const run = await runStack("dev", { settingsFile: file });
    assert.equal(named(run, "aws:dynamodb/table:Table", "alma-users").options.retainOnDelete, false);
    assert.equal(named(run, "aws:sqs/queue:Queue", "alma-failed-events").options.retainOnDelete, false);
    const bus = named(run, "aws:cloudwatch/eventBus:EventBus", "iota-bus");
    assert.equal(bus.options.import, "iota-shared");
    assert.equal(bus.options.retainOnDelete, true);
  });
});

describe("the image repository", () => {
  it("lets Lambda pull images for this account's functions only", async () => {
    const dev = await stackRun("dev");
    const policy = named(dev, "aws:ecr/repositoryPolicy:RepositoryPolicy", "skills-images-policy");
    assert.equal(policy.rawInputs.repository, named(dev, "aws:ecr/repository:Repository", "skills-images").state.name);
    assert.deepEqual(policyOf(policy).Statement, [
      {
        Sid: "LambdaPullsImages",
        Effect: "Allow",
        Principal: { Service: "lambda.amazonaws.com" },
        Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        Condition: { StringLike: { "aws:sourceArn": "arn:aws:lambda:eu-west-2:123456789012:function:*" } },
      },
    ]);
  });
});
