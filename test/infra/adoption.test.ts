import * as assert from "node:assert/strict";
import { ADOPTED_KEEPS_TAGS, IMPROVEMENTS } from "../../components/adoption";
import { ADOPTED_TRIGGER_KEEPS } from "../../components/atlas/eventbridge-trigger";
import { ADOPTED_CLIENT_KEEPS, ADOPTED_POOL_KEEPS } from "../../apps/hdoc/auth";
import { DISTRIBUTION_READ_SID } from "../../apps/hdoc/frontend";
import { ORIGINALS } from "../../components/originals";
import { ADOPTED_BUCKET_KEEPS } from "../../components/storage/bucket";
import { ADOPTED_TABLE_KEEPS } from "../../components/storage/table";
import { APP_IMPROVEMENTS } from "../../config";
import { adoptionReport, type AdoptionChange, unapprovedChanges } from "../../tooling/adoption-report";
import {
  MOCK_OAI_CANONICAL_USER,
  named,
  ofType,
  policyOf,
  type RecordedResource,
  type RunResult,
  stackRun,
} from "../../tooling/mock-engine";
import { runVariant, stackSettings, variantConfigError } from "../helpers/stack-variant";

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

const prodSettings = stackSettings("prod");

/** What an adopted table (alma's, hdoc's) keeps as it is until its hardening is opted into. */
const ADOPTED_TABLE_UNCHANGED = [
  ...ADOPTED_TABLE_KEEPS,
  "billingMode",
  "readCapacity",
  "writeCapacity",
  "serverSideEncryption",
  "pointInTimeRecovery",
  "deletionProtectionEnabled",
];

describe("adopting what already runs (prod)", () => {
  let prod: RunResult;
  before(async function () {
    this.timeout(90_000);
    prod = await stackRun("prod");
  });

  /**
   * The resource of `type` named `name`, checked to be adopted by `importId`: protected,
   * retained, never created, keeping `keep` (and its tags, unless `untagged`).
   */
  const adopted = (type: string, name: string, importId: string, keep: string[] = [], untagged = false): RecordedResource => {
    const r = named(prod, type, name);
    assert.deepEqual(
      adoption(r.options),
      { import: importId, protect: true, retainOnDelete: true, ignoreChanges: [...keep, ...(untagged ? [] : ADOPTED_KEEPS_TAGS)] },
      `${type} ${name}`,
    );
    return r;
  };

  it("alma: imports the three tables by name, keeping their key schema, indexes, billing and every improvement not applied", () => {
    for (const [key, hashKey] of [
      ["users", "primary_id"],
      ["loans", "loan_id"],
      ["requests", "request_id"],
    ]) {
      const existing = prodSettings["tributary:alma"].tableNames[key];
      const table = adopted("aws:dynamodb/table:Table", `alma-${key}`, existing, ADOPTED_TABLE_UNCHANGED);
      assert.equal(table.inputs.name, existing);
      assert.equal(table.inputs.hashKey, hashKey);
      for (const kept of ["billingMode", "serverSideEncryption", "pointInTimeRecovery", "deletionProtectionEnabled"])
        assert.equal(table.inputs[kept], undefined, kept);
      // What the mock engine reports as the state is the adopted table's: provisioned 5/5, unencrypted.
      assert.equal(table.state.billingMode, "PROVISIONED");
      assert.equal(table.state.readCapacity, 5);
      assert.equal(table.state.serverSideEncryption, undefined);
    }
  });

  it("alma: imports the eight topics with their display names, unencrypted as they are, and the users queue and its DLQ with their settings", () => {
    const { topicArns, usersQueueUrl, usersDeadLetterQueueUrl } = prodSettings["tributary:alma"];
    for (const [event, arn] of Object.entries<string>(topicArns)) {
      const topic = adopted("aws:sns/topic:Topic", `alma-topic-${event.toLowerCase().replace(/_/g, "-")}`, arn, ["kmsMasterKeyId"]);
      assert.equal(topic.inputs.name, arn.split(":").pop());
      assert.match(topic.inputs.displayName, /^Alma[A-Z][A-Za-z]+$/);
      assert.equal(topic.inputs.kmsMasterKeyId, undefined);
      assert.equal(topic.state.arn, arn);
    }
    assert.equal(named(prod, "aws:sns/topic:Topic", "alma-topic-request-placed-on-shelf").inputs.displayName, "AlmaRequestPlacedOnShelf");
    const users = adopted("aws:sqs/queue:Queue", "alma-users", usersQueueUrl, ["sqsManagedSseEnabled", "visibilityTimeoutSeconds"]);
    const dlq = adopted("aws:sqs/queue:Queue", "alma-users-dlq", usersDeadLetterQueueUrl, ["sqsManagedSseEnabled"]);
    assert.equal(users.inputs.name, "lag-suc-prod-usersQueue");
    assert.equal(users.inputs.visibilityTimeoutSeconds, undefined, "the users queue is LAG-bulk-update-cache's: its visibility stays 30 s");
    assert.equal(users.state.visibilityTimeoutSeconds, 30);
    assert.equal(dlq.inputs.name, "lag-suc-prod-usersDLQ");
    assert.equal(dlq.inputs.tags, undefined, "an adopted queue keeps its own tags");
    assert.deepEqual(JSON.parse(users.rawInputs.redrivePolicy), { deadLetterTargetArn: dlq.state.arn, maxReceiveCount: 3 });
    assert.equal(
      named(prod, "aws:lambda/function:Function", "alma-loan-updated").rawInputs.environment.variables.USERS_QUEUE_URL,
      usersQueueUrl,
    );
    assert.equal(prod.outputs.almaCache.topicArns.LOAN_CREATED, topicArns.LOAN_CREATED);
  });

  it("hdoc: imports the users table, the user pool, its app client (keeping its URLs) and domain, and the site bucket, in us-east-1", () => {
    const hdoc = prodSettings["tributary:hdoc"];
    adopted("aws:dynamodb/table:Table", "hdoc-users", hdoc.usersTableName, ADOPTED_TABLE_UNCHANGED);
    adopted("aws:cognito/userPool:UserPool", "hdoc-auth", hdoc.auth.userPoolId, [...ADOPTED_POOL_KEEPS, "deletionProtection"]);
    const client = adopted(
      "aws:cognito/userPoolClient:UserPoolClient",
      "hdoc-auth-client",
      `${hdoc.auth.userPoolId}/${hdoc.auth.clientId}`,
      [...ADOPTED_CLIENT_KEEPS, "preventUserExistenceErrors"],
      true,
    );
    assert.equal(client.inputs.callbackUrls, undefined);
    adopted("aws:cognito/userPoolDomain:UserPoolDomain", "hdoc-auth-domain", hdoc.auth.domainPrefix, [], true);
    const bucket = adopted("aws:s3/bucket:Bucket", "hdoc-frontend-site", hdoc.frontend.bucketName, ADOPTED_BUCKET_KEEPS);
    assert.equal(bucket.inputs.bucket, hdoc.frontend.bucketName);
    assert.equal(bucket.inputs.forceDestroy, undefined, "an adopted bucket is never force-deleted");
    const provider = named(prod, "pulumi:providers:aws", "aws-us-east-1");
    assert.equal(provider.inputs.region, "us-east-1");
    assert.deepEqual(JSON.parse(provider.inputs.allowedAccountIds), prodSettings["aws:allowedAccountIds"]);
    assert.match(named(prod, "aws:dynamodb/table:Table", "hdoc-users").state.arn, /^arn:aws:dynamodb:us-east-1:/);
  });

  it("hdoc: leaves the adopted bucket's public access, ownership, encryption and versioning as they are", () => {
    for (const type of [
      "bucketPublicAccessBlock:BucketPublicAccessBlock",
      "bucketOwnershipControls:BucketOwnershipControls",
      "bucketVersioning:BucketVersioning",
    ]) {
      assert.deepEqual(
        ofType(prod, `aws:s3/${type}`).filter((r) => r.name.startsWith("hdoc-frontend")),
        [],
        type,
      );
    }
  });

  it("hdoc: adds the new distribution's read grant to the bucket policy beside the old distribution's, and never deletes that policy", () => {
    const hdoc = prodSettings["tributary:hdoc"];
    const policy = named(prod, "aws:s3/bucketPolicy:BucketPolicy", "hdoc-frontend-site-policy");
    assert.equal(policy.options.retainOnDelete, true);
    const document = policyOf(policy) as { Id?: string; Statement: any[] };
    assert.equal(document.Id, "PublicAccessPolicy");
    assert.deepEqual(
      document.Statement.map((s) => s.Sid),
      ["PublicReadForGetBucketObjects", DISTRIBUTION_READ_SID],
    );
    assert.deepEqual(document.Statement[0].Principal, { CanonicalUser: MOCK_OAI_CANONICAL_USER });
    assert.equal(document.Statement[1].Resource, `arn:aws:s3:::${hdoc.frontend.bucketName}/*`);
    assert.equal(
      document.Statement[1].Condition.StringEquals["AWS:SourceArn"],
      named(prod, "aws:cloudfront/distribution:Distribution", "hdoc-frontend-cdn").state.arn,
    );
  });

  it("hdoc: writes the new distribution's statement alone once exclusiveBucketPolicy applies, without reading the old policy", async function () {
    this.timeout(60_000);
    const run = await runVariant("prod", (config) => {
      config["tributary:hdoc"].hardening = { exclusiveBucketPolicy: true };
    });
    assert.deepEqual(
      policyOf(named(run, "aws:s3/bucketPolicy:BucketPolicy", "hdoc-frontend-site-policy")).Statement.map((s) => s.Sid),
      [DISTRIBUTION_READ_SID],
    );
    assert.equal(run.calls.filter((c) => c.token === "aws:s3/getBucketPolicy:getBucketPolicy").length, 0);
    const [change] = adoptionReport(run).changes;
    assert.deepEqual(
      [change.setting, change.kind, change.optIn],
      ["aws:s3/bucketPolicy:BucketPolicy", "change", "tributary:hdoc.hardening.exclusiveBucketPolicy"],
    );
  });

  it("skills: imports the ECR repository as it is (mutable tags, no scan, its own policy and no lifecycle) and the bot's templates bucket, in us-east-1", () => {
    const skills = prodSettings["tributary:skills"];
    const repository = adopted("aws:ecr/repository:Repository", "skills-images", skills.repositoryName, [
      "encryptionConfigurations",
      "imageTagMutability",
      "imageScanningConfiguration",
    ]);
    assert.equal(repository.inputs.name, skills.repositoryName);
    assert.equal(repository.inputs.forceDelete, undefined);
    assert.equal(repository.inputs.imageTagMutability, undefined);
    assert.equal(repository.state.imageTagMutability, "MUTABLE");
    assert.deepEqual(ofType(prod, "aws:ecr/repositoryPolicy:RepositoryPolicy"), []);
    assert.deepEqual(ofType(prod, "aws:ecr/lifecyclePolicy:LifecyclePolicy"), []);
    adopted("aws:s3/bucket:Bucket", "skills-templates", skills.templates.bucketName, ADOPTED_BUCKET_KEEPS);
    assert.deepEqual(
      prod.resources.filter((r) => r.name.startsWith("skills-templates-")).map((r) => r.type),
      ["aws:iam/policy:Policy"],
      "only the read policy for the bot: nothing that reconfigures the bucket",
    );
  });

  it("iota: imports the shared bus once, by name", () => {
    const bus = adopted("aws:cloudwatch/eventBus:EventBus", "iota-bus", "iota-prod", ["description"]);
    assert.equal(bus.inputs.name, "iota-prod");
    assert.equal(ofType(prod, "aws:cloudwatch/eventBus:EventBus").filter((b) => b.name.startsWith("iota")).length, 1);
  });

  it("lessons: imports the trigger with its own match expression and the partner bus named after it, in us-east-1", () => {
    const { projectId, appId, triggerId } = prodSettings["tributary:lessons"].atlas;
    const trigger = adopted(
      "mongodbatlas:index/eventTrigger:EventTrigger",
      "lessons-trigger",
      `${projectId}--${appId}--${triggerId}`,
      [...ADOPTED_TRIGGER_KEEPS, "configMatch"],
      true,
    );
    assert.equal(trigger.inputs.configMatch, undefined);
    assert.deepEqual(JSON.parse(trigger.inputs.configProject), ORIGINALS.lessons.resources[0].settings.configProject.value);
    assert.deepEqual(trigger.inputs.eventProcessors, { awsEventbridge: { configAccountId: "123456789012", configRegion: "us-east-1" } });
    const bus = adopted("aws:cloudwatch/eventBus:EventBus", "lessons-trigger-bus", `aws.partner/mongodb.com/stitch.trigger/${triggerId}`, [
      "eventSourceName",
    ]);
    assert.equal(bus.inputs.name, `aws.partner/mongodb.com/stitch.trigger/${triggerId}`);
  });

  it("lessons: imports the Auth0 client the original handler uses, its credentials and its grant by id, keeping their settings", () => {
    const { clientId, grantId } = prodSettings["tributary:lessons"].auth0;
    const expect = (type: string, name: string, importId: string, keep: string[]) =>
      assert.deepEqual(
        adoption(named(prod, type, name).options),
        { import: importId, protect: false, retainOnDelete: true, ignoreChanges: keep },
        name,
      );
    expect("auth0:index/client:Client", "lessons-auth0", clientId, ["name", "description", "appType", "grantTypes"]);
    expect("auth0:index/clientCredentials:ClientCredentials", "lessons-auth0-credentials", clientId, ["authenticationMethod"]);
    expect("auth0:index/clientGrant:ClientGrant", "lessons-auth0-grant", grantId, ["scopes"]);
    assert.equal(
      named(prod, "auth0:index/clientGrant:ClientGrant", "lessons-auth0-grant").inputs.audience,
      prodSettings["tributary:lessons"].auth0.audience,
    );
  });

  it("protects every stateful resource in prod", () => {
    for (const type of STATEFUL_TYPES) {
      for (const r of ofType(prod, type)) {
        if (/^alerts(-[a-z0-9-]+)?$/.test(r.name)) continue; // the alert topics hold no data
        assert.equal(r.options.protect, true, `${type} ${r.name}`);
        assert.equal(r.options.retainOnDelete, true, `${type} ${r.name}`);
      }
    }
  });
});

describe("the first `pulumi up` changes nothing on adopted resources", () => {
  const summary = (changes: AdoptionChange[]) => changes.map((c) => `${c.resource} ${c.setting}`);

  for (const [stack, count] of [
    ["prod", 26],
    ["staging", 15],
  ] as const) {
    it(`${stack}: imports ${count} resources and changes none of their settings without an opt-in`, async function () {
      this.timeout(90_000);
      const report = adoptionReport(await stackRun(stack));
      assert.equal(report.adopted.length, count);
      assert.deepEqual(summary(unapprovedChanges(report)), []);
      // The one addition: the new distribution's read grant in the frontend bucket's policy.
      assert.deepEqual(
        report.changes.map((c) => [c.resource, c.setting, c.kind]),
        [["hdoc-frontend-site", "aws:s3/bucketPolicy:BucketPolicy", "addition"]],
      );
    });
  }

  it("dev adopts nothing", async () => {
    assert.deepEqual(adoptionReport(await stackRun("dev")).adopted, []);
  });

  it("staging adopts alma's stg stage and hdoc's staging stacks, and creates lessons and skills", async () => {
    const staging = await stackRun("staging");
    const settings = stackSettings("staging");
    assert.equal(named(staging, "aws:sqs/queue:Queue", "alma-users").options.import, settings["tributary:alma"].usersQueueUrl);
    assert.match(settings["tributary:alma"].usersQueueUrl, /lag-suc-stg-usersQueue$/);
    assert.equal(named(staging, "aws:s3/bucket:Bucket", "hdoc-frontend-site").options.import, "hdoc-frontend-staging-websitebucket");
    assert.equal(named(staging, "aws:ecr/repository:Repository", "skills-images").options.import, undefined);
    assert.equal(named(staging, "mongodbatlas:index/eventTrigger:EventTrigger", "lessons-trigger").options.import, undefined);
  });

  it("lists each opted-in improvement as a change on the adopted resources, with the key that opted in", async function () {
    this.timeout(90_000);
    const run = await runVariant("prod", (config) => {
      for (const app of ["alma", "hdoc", "skills", "lessons"] as const) {
        config[`tributary:${app}`].hardening = Object.fromEntries(APP_IMPROVEMENTS[app].map((i) => [i, true]));
      }
      config["tributary:alma"].usersQueueConsumerTimeoutSeconds = 120;
    });
    const report = adoptionReport(run);
    assert.deepEqual(summary(unapprovedChanges(report)), []);
    const opted = (resource: string, setting: string) => report.changes.find((c) => c.resource === resource && c.setting === setting);
    assert.equal(opted("alma-users", "billingMode")?.optIn, "tributary:alma.hardening.onDemandCapacity");
    assert.equal(opted("alma-users", "billingMode")?.planned, "PAY_PER_REQUEST");
    assert.equal(opted("alma-users", "billingMode")?.original, "PROVISIONED");
    assert.equal(opted("alma-topic-loan-created", "kmsMasterKeyId")?.optIn, "tributary:alma.hardening.encryption");
    assert.equal(opted("alma-users", "visibilityTimeoutSeconds")?.optIn, "tributary:alma.hardening.queueSettings");
    assert.equal(opted("alma-users", "visibilityTimeoutSeconds")?.planned, 720);
    assert.equal(opted("skills-images", "imageTagMutability")?.planned, "IMMUTABLE");
    assert.equal(opted("skills-images", "aws:ecr/lifecyclePolicy:LifecyclePolicy")?.optIn, "tributary:skills.hardening.imageLifecycle");
    assert.equal(opted("skills-images", "aws:ecr/repositoryPolicy:RepositoryPolicy")?.optIn, "tributary:skills.hardening.imagePullPolicy");
    assert.equal(
      opted("hdoc-frontend-site", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")?.optIn,
      "tributary:hdoc.hardening.blockPublicAccess",
    );
    assert.equal(opted("skills-templates", "aws:s3/bucketVersioning:BucketVersioning")?.optIn, "tributary:skills.hardening.versioning");
    assert.equal(opted("lessons-trigger", "configMatch")?.optIn, "tributary:lessons.hardening.triggerMatch");
    assert.equal(opted("hdoc-auth-client", "preventUserExistenceErrors")?.planned, "ENABLED");
    for (const change of report.changes.filter((c) => c.improvement)) assert.equal(change.note, IMPROVEMENTS[change.improvement!]);
  });
});

describe("a stack file that adopts a resource and sets a conflicting setting", () => {
  it("fails, naming the key and the original's value, with the improvement that would make it deliberate", async function () {
    this.timeout(60_000);
    const error = await variantConfigError("prod", (config) => {
      config["tributary:alma"].usersQueueConsumerTimeoutSeconds = 120;
      config["tributary:skills"].keepImages = 20;
    });
    const queue = error.problems.find((p) => p.key === "tributary:alma.usersQueueConsumerTimeoutSeconds");
    assert.match(queue?.message ?? "", /visibility timeout to 720 s; the original's is 30 \(AWS SQS CreateQueue defaults/);
    assert.match(
      queue?.fix ?? "",
      /pulumi config rm --path 'tributary:alma.usersQueueConsumerTimeoutSeconds' --stack prod, or after the cutover opt in with pulumi config set --path 'tributary:alma.hardening.queueSettings' true/,
    );
    const images = error.problems.find((p) => p.key === "tributary:skills.keepImages");
    assert.match(images?.message ?? "", /lifecycle policy; the original's is none \(Amazon ECR CreateRepository defaults/);
  });

  it("is accepted once the improvement is opted in", async function () {
    this.timeout(90_000);
    const run = await runVariant("prod", (config) => {
      config["tributary:alma"].usersQueueConsumerTimeoutSeconds = 120;
      config["tributary:alma"].hardening = { queueSettings: true };
    });
    assert.equal(named(run, "aws:sqs/queue:Queue", "alma-users").inputs.visibilityTimeoutSeconds, 720);
  });

  it("fails for settings the original leaves to its owner: an adopted client's URLs, an adopted grant's scopes", async function () {
    this.timeout(60_000);
    const error = await variantConfigError("prod", (config) => {
      config["tributary:hdoc"].auth.callbackUrls = ["https://100daysofcloud.example.com/callback"];
      config["tributary:lessons"].auth0.scopes = ["update:certification_progress"];
    });
    assert.match(
      error.problems.find((p) => p.key === "tributary:hdoc.auth.callbackUrls")?.message ?? "",
      /kept as its owner set it \(.*cognito\.template\.yml/,
    );
    assert.match(error.problems.find((p) => p.key === "tributary:lessons.auth0.scopes")?.message ?? "", /adopted Auth0 grant's scopes/);
  });

  it("fails when an app that adopts would look for the original's resources in another region", async function () {
    this.timeout(60_000);
    const error = await variantConfigError("prod", (config) => {
      delete config["tributary:hdoc"].region;
    });
    const problem = error.problems.find((p) => p.key === "tributary:hdoc.region");
    assert.match(
      problem?.message ?? "",
      /runs in us-east-1 \(100DaysOfCloud\/100DaysOfCloudBackend@9785f73 samconfig\.toml.*looked for in eu-west-2/,
    );
    assert.equal(problem?.fix, "pulumi config set --path 'tributary:hdoc.region' us-east-1 --stack prod");
  });
});

describe("the originals' settings table", () => {
  it("names the file each value came from, for every adopted resource of every stack", async function () {
    this.timeout(90_000);
    for (const [app, originals] of Object.entries(ORIGINALS)) {
      for (const resource of originals.resources) {
        for (const [setting, spec] of Object.entries({ ...resource.settings, ...resource.attachments })) {
          if (spec.identity) continue;
          assert.ok(spec.source && originals.sources[spec.source], `${app} ${resource.name} ${setting}: no source`);
        }
      }
    }
    for (const stack of ["prod", "staging"]) {
      for (const r of adoptionReport(await stackRun(stack)).adopted) assert.ok(r.original, `${stack} ${r.name} has no original recorded`);
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
        assert.deepEqual(
          adoption(r.options),
          { import: undefined, protect: false, retainOnDelete: true, ignoreChanges: [] },
          `${type} ${r.name}`,
        );
      }
    }
  });

  it("applies every improvement to what it creates", () => {
    const table = named(dev, "aws:dynamodb/table:Table", "alma-users").inputs;
    assert.deepEqual([table.billingMode, table.serverSideEncryption], ["PAY_PER_REQUEST", { enabled: true }]);
    assert.equal(named(dev, "aws:sns/topic:Topic", "alma-topic-loan-created").inputs.kmsMasterKeyId, "alias/aws/sns");
    assert.equal(named(dev, "aws:ecr/repository:Repository", "skills-images").inputs.imageTagMutability, "IMMUTABLE");
    for (const bucket of ["skills-templates", "hdoc-frontend-site"]) {
      for (const part of ["public-access", "ownership", "encryption", "versioning"])
        assert.ok(
          dev.resources.some((r) => r.name === `${bucket}-${part}`),
          `${bucket}-${part}`,
        );
    }
    assert.ok(JSON.parse(named(dev, "mongodbatlas:index/eventTrigger:EventTrigger", "lessons-trigger").inputs.configMatch).$expr);
  });

  it("lets the buckets and the image repository be deleted with their contents outside prod", async () => {
    for (const name of ["skills-templates", "hdoc-frontend-site"])
      assert.equal(named(dev, "aws:s3/bucket:Bucket", name).inputs.forceDestroy, true);
    assert.equal(named(dev, "aws:ecr/repository:Repository", "skills-images").inputs.forceDelete, true);
    const staging = await stackRun("staging");
    assert.equal(named(staging, "aws:s3/bucket:Bucket", "skills-templates").inputs.forceDestroy, true);
  });

  it("retains nothing it created when the stack says so, but still everything it adopted", async function () {
    this.timeout(60_000);
    const run = await runVariant("dev", (config) => {
      config["tributary:retainStatefulResources"] = false;
      config["tributary:iota"].eventBusName = "iota-shared";
    });
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
