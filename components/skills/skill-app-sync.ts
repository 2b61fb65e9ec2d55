import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import type { SkillsConfig } from "../../config";
import { secretParamEnv, SKILLS_BUCKET_PREFIXES, SKILLS_ENV, type SkillsSecret } from "../../handlers/lib/env-names";
import { type Alarming, DeadLetterQueue } from "../events/dead-letter-queue";
import { imageContext } from "../lambda/image-context";
import { asyncRetryWithin, NodeImageFunction, type PolicyStatement } from "../lambda/node-function";
import { secureParameter } from "../secrets/secure-parameter";
import { privateBucket } from "../storage/bucket";
import { type Protection, statefulOptions } from "../storage/stateful";

export interface SkillAppSyncArgs {
  airtable: SkillsConfig["airtable"];
  badgr: SkillsConfig["badgr"];
  github: SkillsConfig["github"];
  /** Where the templates go and how far one archive may expand. */
  templates: { maxBytes: number; maxEntries: number };
  /** The BRN database's VPC, when the function must run inside it. */
  vpc?: SkillsConfig["vpc"];
  schedule: SkillsConfig["schedule"];
  /** How many images the repository keeps. */
  keepImages: number;
  /** The existing ECR repository of the sync's image, adopted in place; when absent, one is created. */
  repositoryName?: string;
  /** The bot's existing templates bucket, adopted in place; when absent, one is created. */
  templatesBucketName?: string;
  function: SkillsConfig["function"];
  /** Retry bounds of the schedule's target before its DLQ keeps the invocation. */
  delivery: SkillsConfig["delivery"];
  /** The secrets from config; GITHUB_TOKEN may be absent. */
  secrets: Partial<Record<SkillsSecret, pulumi.Input<string>>>;
  /** The stage's protection of the bucket, the repository and the failure queue. */
  protection: Protection;
  logRetentionDays: number;
  alarming: Alarming;
}

/**
 * skills: the Skill App sync as a container function in ECR, run on a schedule by
 * EventBridge Scheduler, writing the BRN MySQL database and the bot's templates bucket, with
 * its secrets (the database URL among them) in SSM.
 */
export class SkillAppSync extends pulumi.ComponentResource {
  readonly templatesBucket: aws.s3.Bucket;
  /** A policy that may read the templates and nothing else, to attach to the bot's role. */
  readonly templatesReadPolicy: aws.iam.Policy;
  readonly repository: aws.ecr.Repository;
  readonly repositoryPolicy: aws.ecr.RepositoryPolicy;
  readonly image: awsx.ecr.Image;
  readonly function: NodeImageFunction;
  readonly failedInvocations: DeadLetterQueue;
  readonly schedulerRole: aws.iam.Role;
  readonly schedule: aws.scheduler.Schedule;

  constructor(name: string, args: SkillAppSyncArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:skills:SkillAppSync", name, {}, opts);

    this.templatesBucket = privateBucket(
      `${name}-templates`,
      { versioning: true, protection: args.protection, existingName: args.templatesBucketName },
      { parent: this },
    ).bucket;
    this.templatesReadPolicy = new aws.iam.Policy(
      `${name}-templates-read`,
      {
        description: "Read the Skill App templates",
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            { Sid: "ListTemplates", Effect: "Allow", Action: "s3:ListBucket", Resource: this.templatesBucket.arn },
            { Sid: "ReadTemplates", Effect: "Allow", Action: "s3:GetObject", Resource: pulumi.interpolate`${this.templatesBucket.arn}/*` },
          ],
        }),
      },
      { parent: this },
    );

    const adoptedRepository = args.repositoryName !== undefined;
    this.repository = new aws.ecr.Repository(
      `${name}-images`,
      {
        name: args.repositoryName,
        imageTagMutability: "IMMUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        // A repository the stack created may be deleted with its images outside protected
        // stages; an adopted one is retained, never deleted by the stack.
        forceDelete: adoptedRepository ? undefined : !args.protection.deletionProtection,
      },
      statefulOptions(args.protection, { parent: this }, adoptedRepository ? { importId: args.repositoryName! } : undefined),
    );
    const identity = aws.getCallerIdentityOutput({}, { parent: this });
    const region = aws.getRegionOutput({}, { parent: this });
    // Lambda pulls the image with its service principal, on behalf of this account's functions only.
    this.repositoryPolicy = new aws.ecr.RepositoryPolicy(
      `${name}-images-policy`,
      {
        repository: this.repository.name,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "LambdaPullsImages",
              Effect: "Allow",
              Principal: { Service: "lambda.amazonaws.com" },
              Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
              Condition: { StringLike: { "aws:sourceArn": pulumi.interpolate`arn:aws:lambda:${region.region}:${identity.accountId}:function:*` } },
            },
          ],
        }),
      },
      { parent: this },
    );
    new aws.ecr.LifecyclePolicy(
      `${name}-images-lifecycle`,
      {
        repository: this.repository.name,
        policy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: `Keep the last ${args.keepImages} images`,
              selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: args.keepImages },
              action: { type: "expire" },
            },
          ],
        }),
      },
      { parent: this },
    );
    const context = imageContext("skill-sync", `${name}-sync`);
    this.image = new awsx.ecr.Image(
      `${name}-image`,
      {
        repositoryUrl: this.repository.repositoryUrl,
        context: context.dir,
        dockerfile: context.dockerfile,
        platform: "linux/arm64",
        // Tags are immutable, so each bundle gets the tag of its own bytes.
        imageTag: context.tag,
      },
      { parent: this },
    );

    const secretParameters = Object.entries(args.secrets)
      .filter((entry): entry is [SkillsSecret, pulumi.Input<string>] => entry[1] !== undefined)
      .map(([secret, value]) => ({
        secret,
        parameter: secureParameter(
          `${name}-${secret.toLowerCase().replace(/_/g, "-")}`,
          { value, description: `Skill App sync: ${secret}` },
          { parent: this },
        ),
      }));

    // The scheduler's failed invocations and the function's own failures land in one queue.
    this.failedInvocations = new DeadLetterQueue(
      `${name}-failed-invocations`,
      { alarming: args.alarming, description: "Skill App syncs that failed every retry", protection: args.protection },
      { parent: this },
    );

    const statements: PolicyStatement[] = [
      {
        Sid: "UploadTemplatesAndRecordReleases",
        Action: ["s3:PutObject"],
        Resource: [pulumi.interpolate`${this.templatesBucket.arn}/${SKILLS_BUCKET_PREFIXES.templates}*`, pulumi.interpolate`${this.templatesBucket.arn}/${SKILLS_BUCKET_PREFIXES.syncedReleases}*`],
      },
      {
        Sid: "ListSyncedReleases",
        Action: ["s3:ListBucket"],
        Resource: [this.templatesBucket.arn],
        Condition: { StringLike: { "s3:prefix": `${SKILLS_BUCKET_PREFIXES.syncedReleases}*` } },
      },
      ...secretParameters.map(({ secret, parameter }) => ({ ...parameter.readStatement, Sid: `Read${secret.replace(/_/g, "")}` })),
    ];
    this.function = new NodeImageFunction(
      `${name}-sync`,
      {
        imageUri: this.image.imageUri,
        serviceName: "skill-sync",
        description: "Syncs the Skill App from Airtable, Badgr and GitHub",
        memorySize: args.function.memoryMb,
        timeout: args.function.timeoutSeconds,
        reservedConcurrency: args.function.reservedConcurrency ?? 1,
        tracing: args.function.tracing,
        vpc: args.vpc,
        environment: {
          [SKILLS_ENV.templatesBucket]: this.templatesBucket.bucket,
          [SKILLS_ENV.templatesMaxBytes]: String(args.templates.maxBytes),
          [SKILLS_ENV.templatesMaxEntries]: String(args.templates.maxEntries),
          [SKILLS_ENV.airtableApiUrl]: args.airtable.apiUrl,
          [SKILLS_ENV.airtableBaseId]: args.airtable.baseId,
          [SKILLS_ENV.airtableTable]: args.airtable.table,
          [SKILLS_ENV.airtableMaxPages]: String(args.airtable.maxPages),
          [SKILLS_ENV.badgrBaseUrl]: args.badgr.baseUrl,
          [SKILLS_ENV.badgrIssuerId]: args.badgr.issuerId,
          [SKILLS_ENV.badgrScope]: args.badgr.scope,
          [SKILLS_ENV.badgrGrantType]: args.badgr.grantType,
          [SKILLS_ENV.badgrMaxPages]: String(args.badgr.maxPages),
          [SKILLS_ENV.githubApiUrl]: args.github.apiUrl,
          [SKILLS_ENV.githubOrg]: args.github.org,
          ...Object.fromEntries(secretParameters.map(({ secret, parameter }) => [secretParamEnv(secret), parameter.name])),
        },
        statements,
        logRetentionDays: args.logRetentionDays,
        alarming: args.alarming,
        asyncInvocation: asyncRetryWithin(args.delivery, this.failedInvocations),
      },
      { parent: this },
    );

    this.schedulerRole = new aws.iam.Role(
      `${name}-scheduler`,
      {
        description: "Lets EventBridge Scheduler run the Skill App sync",
        assumeRolePolicy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "scheduler.amazonaws.com" },
              Action: "sts:AssumeRole",
              Condition: { StringEquals: { "aws:SourceAccount": identity.accountId } },
            },
          ],
        }),
      },
      { parent: this },
    );
    const schedulerPolicy = new aws.iam.RolePolicy(
      `${name}-scheduler-policy`,
      {
        role: this.schedulerRole.id,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            { Sid: "InvokeTheSync", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: this.function.arn },
            // The scheduler delivers failed invocations to its DLQ with this role.
            { Sid: "KeepFailedInvocations", Effect: "Allow", Action: "sqs:SendMessage", Resource: this.failedInvocations.arn },
          ],
        }),
      },
      { parent: this },
    );
    this.schedule = new aws.scheduler.Schedule(
      `${name}-schedule`,
      {
        description: "Skill App sync",
        scheduleExpression: args.schedule.expression,
        state: args.schedule.enabled ? "ENABLED" : "DISABLED",
        flexibleTimeWindow: { mode: "OFF" },
        target: {
          arn: this.function.arn,
          roleArn: this.schedulerRole.arn,
          retryPolicy: {
            maximumRetryAttempts: args.delivery.maximumRetryAttempts,
            maximumEventAgeInSeconds: args.delivery.maximumEventAgeSeconds,
          },
          deadLetterConfig: { arn: this.failedInvocations.arn },
        },
      },
      { parent: this, dependsOn: [schedulerPolicy] },
    );

    this.registerOutputs({
      functionName: this.function.functionName,
      templatesBucket: this.templatesBucket.bucket,
      templatesReadPolicyArn: this.templatesReadPolicy.arn,
      repositoryUrl: this.repository.repositoryUrl,
      imageUri: this.image.imageUri,
    });
  }
}
