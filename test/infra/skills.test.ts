import * as assert from "node:assert/strict";
import {
  findSecretLeaks,
  loadStackConfig,
  named,
  ofType,
  policyOf,
  type RunResult,
  runProgram,
  SECRET_MARK,
  stackRun,
} from "../../tooling/mock-engine";
import * as path from "node:path";
import * as fs from "node:fs";
import { PROGRAM_FILE, REPO_ROOT } from "../../paths";

describe("skills (SkillAppSync)", () => {
  let dev: RunResult;
  let prod: RunResult;
  let withGithubToken: RunResult;
  before(async function () {
    this.timeout(60_000);
    dev = await stackRun("dev");
    prod = await stackRun("prod");
    const { config, secretKeys } = loadStackConfig("staging");
    withGithubToken = await runProgram(
      () => {
        delete require.cache[require.resolve(PROGRAM_FILE)];
        return require(PROGRAM_FILE);
      },
      {
        stack: "staging",
        config: { ...config, "tributary:githubToken": "mock-secret:github" },
        secretKeys: [...secretKeys, "tributary:githubToken"],
      },
    );
  });

  const fn = (run: RunResult) => named(run, "aws:lambda/function:Function", "skills-sync");
  const dlq = (run: RunResult) => named(run, "aws:sqs/queue:Queue", "skills-failed-invocations");

  describe("image", () => {
    it("keeps images in an ECR repository with scan on push, immutable tags and a lifecycle that keeps the last N", () => {
      const repo = named(dev, "aws:ecr/repository:Repository", "skills-images");
      assert.equal(repo.inputs.imageTagMutability, "IMMUTABLE");
      assert.deepEqual(repo.inputs.imageScanningConfiguration, { scanOnPush: true });
      const lifecycle = (run: RunResult) =>
        JSON.parse(named(run, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "skills-images-lifecycle").inputs.policy);
      assert.deepEqual(lifecycle(dev).rules[0].selection, { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 });
      assert.deepEqual(lifecycle(dev).rules[0].action, { type: "expire" });
      // prod adopts the original's repository, which keeps its (absent) lifecycle until imageLifecycle applies.
      assert.deepEqual(ofType(prod, "aws:ecr/lifecyclePolicy:LifecyclePolicy"), []);
      assert.equal(named(dev, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "skills-images-lifecycle").rawInputs.repository, repo.state.name);
    });

    it("builds the function image from the bundle on the Lambda Node.js 22 base image, tagged by content", () => {
      const image = named(dev, "awsx:ecr:Image", "skills-image");
      const repo = named(dev, "aws:ecr/repository:Repository", "skills-images");
      assert.equal(image.rawInputs.repositoryUrl, repo.state.repositoryUrl);
      assert.equal(image.inputs.platform, "linux/arm64");
      assert.match(image.inputs.imageTag, /^[0-9a-f]{16}$/);
      const context = path.join(REPO_ROOT, image.inputs.context);
      assert.ok(fs.existsSync(path.join(context, "index.js")));
      const dockerfile = fs.readFileSync(path.join(REPO_ROOT, image.inputs.dockerfile), "utf8");
      assert.match(dockerfile, /^FROM public\.ecr\.aws\/lambda\/nodejs:22$/m);
      assert.match(dockerfile, /^CMD \["index\.handler"\]$/m);
      assert.equal(fn(dev).rawInputs.imageUri, image.state.imageUri);
    });

    it("runs as an image function with its timeout and memory from config", () => {
      const f = fn(dev).inputs;
      assert.equal(f.packageType, "Image");
      assert.equal(f.timeout, 600);
      assert.equal(f.memorySize, 512);
      assert.deepEqual(f.architectures, ["arm64"]);
      assert.equal(f.runtime, undefined);
    });
  });

  describe("schedule", () => {
    it("runs every 6 hours with no flexible window, a retry policy and a DLQ", () => {
      const schedule = named(prod, "aws:scheduler/schedule:Schedule", "skills-schedule");
      assert.equal(schedule.inputs.scheduleExpression, "rate(6 hours)");
      assert.deepEqual(schedule.inputs.flexibleTimeWindow, { mode: "OFF" });
      assert.equal(schedule.inputs.state, "ENABLED");
      assert.equal(schedule.rawInputs.target.arn, fn(prod).state.arn);
      assert.equal(schedule.rawInputs.target.roleArn, named(prod, "aws:iam/role:Role", "skills-schedule-role").state.arn);
      assert.deepEqual(schedule.inputs.target.retryPolicy, { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 });
      assert.deepEqual(schedule.rawInputs.target.deadLetterConfig, { arn: dlq(prod).state.arn });
      assert.equal(dlq(prod).inputs.messageRetentionSeconds, 1209600);
    });

    it("is paused in dev", () => {
      assert.equal(named(dev, "aws:scheduler/schedule:Schedule", "skills-schedule").inputs.state, "DISABLED");
    });

    it("has a role that only the scheduler assumes, which may invoke only this function (and keep failures)", () => {
      const role = named(prod, "aws:iam/role:Role", "skills-schedule-role");
      const [trust] = policyOf(role, "assumeRolePolicy").Statement;
      assert.deepEqual(trust.Principal, { Service: "scheduler.amazonaws.com" });
      assert.deepEqual(trust.Condition, { StringEquals: { "aws:SourceAccount": "123456789012" } });
      const statements = policyOf(named(prod, "aws:iam/rolePolicy:RolePolicy", "skills-schedule-policy")).Statement;
      assert.deepEqual(statements, [
        { Sid: "InvokeTheFunction", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: fn(prod).state.arn },
        { Sid: "KeepFailedInvocations", Effect: "Allow", Action: "sqs:SendMessage", Resource: dlq(prod).state.arn },
      ]);
      const invokes = statements.filter((s: any) => String(s.Action).startsWith("lambda:"));
      assert.equal(invokes.length, 1);
    });

    it("is a FunctionSchedule of the app, whose role and schedule are its children", () => {
      const component = named(prod, "tributary:events:FunctionSchedule", "skills-schedule");
      assert.equal(component.parent, named(prod, "tributary:skills:SkillAppSync", "skills").urn);
      for (const [type, name] of [
        ["aws:iam/role:Role", "skills-schedule-role"],
        ["aws:iam/rolePolicy:RolePolicy", "skills-schedule-policy"],
        ["aws:scheduler/schedule:Schedule", "skills-schedule"],
      ]) {
        assert.equal(named(prod, type, name).parent, component.urn, name);
      }
    });

    it("keeps the role, policy and schedule made under the app before FunctionSchedule existed, through aliases", () => {
      for (const run of [dev, prod]) {
        const old = (type: string, name: string) => `urn:pulumi:${run.stack}::tributary::tributary:skills:SkillAppSync$${type}::${name}`;
        const aliases = (type: string, name: string) => named(run, type, name).options.aliases;
        assert.deepEqual(aliases("aws:iam/role:Role", "skills-schedule-role"), [old("aws:iam/role:Role", "skills-scheduler")]);
        assert.deepEqual(aliases("aws:iam/rolePolicy:RolePolicy", "skills-schedule-policy"), [
          old("aws:iam/rolePolicy:RolePolicy", "skills-scheduler-policy"),
        ]);
        assert.deepEqual(aliases("aws:scheduler/schedule:Schedule", "skills-schedule"), [
          old("aws:scheduler/schedule:Schedule", "skills-schedule"),
        ]);
      }
      assert.equal(
        named(dev, "aws:iam/role:Role", "skills-schedule-role").options.aliases[0],
        "urn:pulumi:dev::tributary::tributary:skills:SkillAppSync$aws:iam/role:Role::skills-scheduler",
      );
    });

    it("keeps the function's own failed invocations in the same queue", () => {
      const config = named(prod, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "skills-sync-async");
      assert.deepEqual(config.rawInputs.destinationConfig, { onFailure: { destination: dlq(prod).state.arn } });
    });
  });

  describe("stores", () => {
    it("keeps no table of its own: the sync writes the BRN MySQL database, reached through a secret URL", () => {
      assert.equal(ofType(dev, "aws:dynamodb/table:Table").filter((t) => t.name.startsWith("skills")).length, 0);
      const parameter = named(dev, "aws:ssm/parameter:Parameter", "skills-brn-database-url");
      assert.equal(parameter.inputs.type, "SecureString");
      assert.equal(parameter.inputs.value, SECRET_MARK);
      assert.equal(fn(dev).rawInputs.environment.variables.BRN_DATABASE_URL_PARAM, parameter.state.name);
    });

    it("runs in the database's VPC when config names its subnets and security groups", async function () {
      this.timeout(60_000);
      const { config, secretKeys } = loadStackConfig("dev");
      const skills = JSON.parse(config["tributary:skills"]);
      skills.vpc = { subnetIds: ["subnet-0123456789abcdef0"], securityGroupIds: ["sg-0123456789abcdef0"] };
      const run = await runProgram(
        () => {
          delete require.cache[require.resolve(PROGRAM_FILE)];
          return require(PROGRAM_FILE);
        },
        { stack: "dev", config: { ...config, "tributary:skills": JSON.stringify(skills) }, secretKeys },
      );
      assert.deepEqual(fn(run).inputs.vpcConfig, { subnetIds: ["subnet-0123456789abcdef0"], securityGroupIds: ["sg-0123456789abcdef0"] });
      const attachment = named(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "skills-sync-vpc-access");
      assert.equal(attachment.inputs.policyArn, "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole");
      assert.equal(attachment.rawInputs.role, named(run, "aws:iam/role:Role", "skills-sync-role").state.name);
      assert.equal(fn(dev).inputs.vpcConfig, undefined, "outside a VPC by default");
    });

    it("keeps templates in a versioned, encrypted bucket with public access blocked, and a read-only policy to hand out", () => {
      const bucket = named(dev, "aws:s3/bucket:Bucket", "skills-templates");
      const block = named(dev, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "skills-templates-public-access").inputs;
      assert.deepEqual(
        [block.blockPublicAcls, block.blockPublicPolicy, block.ignorePublicAcls, block.restrictPublicBuckets],
        [true, true, true, true],
      );
      assert.deepEqual(
        named(dev, "aws:s3/bucketVersioning:BucketVersioning", "skills-templates-versioning").inputs.versioningConfiguration,
        { status: "Enabled" },
      );
      assert.equal(
        named(dev, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "skills-templates-encryption")
          .inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm,
        "AES256",
      );
      const read = policyOf(named(dev, "aws:iam/policy:Policy", "skills-templates-read")).Statement;
      assert.deepEqual(
        read.map((s: any) => [s.Action, s.Resource]),
        [
          ["s3:ListBucket", bucket.state.arn],
          ["s3:GetObject", `${bucket.state.arn}/*`],
        ],
      );
    });
  });

  describe("secrets and permissions", () => {
    it("reads each secret from its own SSM SecureString, by name, never from the environment", () => {
      const env = fn(dev).rawInputs.environment.variables;
      for (const [secret, parameter] of [
        ["AIRTABLE_TOKEN", "skills-airtable-token"],
        ["BADGR_USERNAME", "skills-badgr-username"],
        ["BADGR_PASSWORD", "skills-badgr-password"],
        ["BADGR_CLIENT_ID", "skills-badgr-client-id"],
      ]) {
        const p = named(dev, "aws:ssm/parameter:Parameter", parameter);
        assert.equal(p.inputs.type, "SecureString");
        assert.equal(p.inputs.value, SECRET_MARK);
        assert.equal(env[`${secret}_PARAM`], p.state.name);
        assert.equal(env[secret], undefined);
      }
      assert.deepEqual(findSecretLeaks(dev), []);
    });

    it("makes the GitHub token optional", () => {
      assert.equal(
        ofType(dev, "aws:ssm/parameter:Parameter").some((p) => p.name === "skills-github-token"),
        false,
      );
      assert.equal(fn(dev).rawInputs.environment.variables.GITHUB_TOKEN_PARAM, undefined);
      const parameter = named(withGithubToken, "aws:ssm/parameter:Parameter", "skills-github-token");
      assert.equal(fn(withGithubToken).rawInputs.environment.variables.GITHUB_TOKEN_PARAM, parameter.state.name);
      assert.deepEqual(findSecretLeaks(withGithubToken), []);
    });

    it("lets only this function read its parameters, and do only what the sync needs", () => {
      const statements = policyOf(named(dev, "aws:iam/rolePolicy:RolePolicy", "skills-sync-policy")).Statement;
      const bucket = named(dev, "aws:s3/bucket:Bucket", "skills-templates").state.arn;
      const bySid = Object.fromEntries(statements.map((s: any) => [s.Sid, [s.Action, s.Resource, s.Condition]]));
      assert.deepEqual(bySid.UploadAndReplaceTemplates, [["s3:PutObject", "s3:DeleteObject"], [`${bucket}/templates/*`], undefined]);
      assert.deepEqual(bySid.RecordReleases, [["s3:PutObject", "s3:GetObject"], [`${bucket}/synced-releases/*`], undefined]);
      assert.deepEqual(bySid.ListTemplatesAndReleases, [
        ["s3:ListBucket"],
        [bucket],
        { StringLike: { "s3:prefix": ["synced-releases/*", "templates/*"] } },
      ]);
      assert.deepEqual(
        statements.map((s: any) => s.Sid).filter((sid: string) => !sid.startsWith("Read")),
        ["WriteOwnLogs", "UploadAndReplaceTemplates", "RecordReleases", "ListTemplatesAndReleases", "KeepFailedEvents"],
        "nothing else on the bucket",
      );
      assert.deepEqual(bySid.ReadAIRTABLETOKEN.slice(0, 2), [
        ["ssm:GetParameter"],
        [named(dev, "aws:ssm/parameter:Parameter", "skills-airtable-token").state.arn],
      ]);
      assert.ok(!statements.some((s: any) => [s.Action].flat().some((a: string) => a.startsWith("dynamodb:"))));
      for (const parameter of ofType(dev, "aws:ssm/parameter:Parameter").filter((p) => p.name.startsWith("skills-"))) {
        const readers = ofType(dev, "aws:iam/rolePolicy:RolePolicy").filter((p) => p.rawInputs.policy.includes(parameter.state.arn));
        assert.deepEqual(
          readers.map((r) => r.name),
          ["skills-sync-policy"],
        );
      }
    });

    it("gives the function the environment names the handler reads", () => {
      const env = fn(dev).rawInputs.environment.variables;
      assert.equal(env.ASSESSMENTS_TABLE_NAME, undefined);
      assert.equal(env.TEMPLATES_MAX_BYTES, String(100 * 1024 * 1024));
      assert.equal(env.TEMPLATES_MAX_ENTRIES, "5000");
      assert.equal(env.AIRTABLE_MAX_PAGES, "100");
      assert.equal(env.BADGR_SCOPE, "rw:issuer rw:backpack");
      assert.equal(env.BADGR_GRANT_TYPE, "password");
      assert.equal(env.BADGR_MAX_PAGES, "100");
      assert.equal(env.TEMPLATES_BUCKET, named(dev, "aws:s3/bucket:Bucket", "skills-templates").state.bucket);
      assert.equal(env.AIRTABLE_API_URL, "https://api.airtable.com/v0");
      assert.equal(env.AIRTABLE_BASE_ID, "appDEVPLACEHOLD01");
      assert.equal(env.AIRTABLE_TABLE, "assessments");
      assert.equal(env.BADGR_BASE_URL, "https://api.badgr.io");
      assert.equal(env.GITHUB_API_URL, "https://api.github.com");
      assert.equal(env.GITHUB_ORG, "Bioinformatics-Research-Network");
    });
  });
});
