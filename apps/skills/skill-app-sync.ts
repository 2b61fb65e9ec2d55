import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { applies } from "../../components/adoption";
import { SKILLS_BUCKET_PREFIXES, SKILLS_ENV, type SkillsSecret } from "../../handlers/lib/env-names";
import { DeadLetterQueue, type DeadLetterQueueOutput } from "../../components/events/dead-letter-queue";
import { FunctionSchedule } from "../../components/events/function-schedule";
import { type PolicyStatement, policyDocument } from "../../components/iam";
import { imageContext } from "../../components/lambda/image-context";
import { imageRepository } from "../../components/lambda/image-repository";
import { asyncRetryWithin, NodeImageFunction } from "../../components/lambda/node-function";
import { AppDashboard } from "../../components/monitoring/app-dashboard";
import type { Platform } from "../../components/platform";
import { type SecureParameter, secretsEnvironment, secureParameter } from "../../components/secrets/secure-parameter";
import { bucketPolicy, privateBucket } from "../../components/storage/bucket";
import { functionSizing } from "../settings-schema";
import type { SkillsSettings } from "./settings";

/**
 * The app's block of config as the schema gives it (apps/skills/settings.ts, where each setting
 * is documented), with the secrets and the stage's platform. The function's reserved
 * concurrency defaults to 1: two syncs must not overlap.
 */
export interface SkillAppSyncArgs extends Omit<SkillsSettings, "region"> {
  /** The secrets (config secrets), each kept in SSM; GITHUB_TOKEN may be absent. */
  secrets: Partial<Record<SkillsSecret, pulumi.Input<string>>>;
  /** The stage's settings: region, log retention, alarms, protection (components/platform.ts). */
  platform: Platform;
}

/** The function whose bundle is the image. */
const HANDLER = "skill-sync";

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
  readonly image: awsx.ecr.Image;
  readonly function: NodeImageFunction;
  /** Runs the scheduler could not deliver, and runs that failed every retry. */
  readonly failedInvocations: DeadLetterQueue;
  readonly schedule: FunctionSchedule;
  readonly dashboard: AppDashboard;
  /** The stack outputs of the app. */
  readonly outputs: Record<string, pulumi.Input<unknown>>;
  /** The app's dead-letter queue, for the stack's `deadLetterQueues` output (the replay command). */
  readonly deadLetterQueues: DeadLetterQueueOutput[];

  constructor(name: string, args: SkillAppSyncArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:skills:SkillAppSync", name, {}, opts);
    this.templatesBucket = this.createTemplatesBucket(name, args);
    this.templatesReadPolicy = templatesReadPolicy(`${name}-templates-read`, this.templatesBucket, { parent: this });
    this.repository = this.createRepository(name, args);
    this.image = this.createImage(name);
    const secrets = secretParameters(name, args.secrets, { parent: this });
    this.failedInvocations = this.createFailedInvocations(name, args);
    this.function = this.createFunction(name, args, secrets);
    this.schedule = this.createSchedule(name, args);
    this.dashboard = this.createDashboard(name, args);
    // Each sync reconciles everything: one that succeeds stands for every failed one before it.
    this.deadLetterQueues = [this.failedInvocations.forReplay("skills", { functionName: this.function.functionName, reconciles: true })];

    this.outputs = {
      functionName: this.function.functionName,
      templatesBucket: this.templatesBucket.bucket,
      templatesReadPolicyArn: this.templatesReadPolicy.arn,
      repositoryUrl: this.repository.repositoryUrl,
      imageUri: this.image.imageUri,
      scheduleState: this.schedule.schedule.state,
      dashboard: this.dashboard.outputs,
    };
    this.registerOutputs(this.outputs);
  }

  /** The bot's templates bucket, adopted or created, and its TLS-only policy when that improvement applies. */
  private createTemplatesBucket(name: string, args: SkillAppSyncArgs): aws.s3.Bucket {
    const { platform, hardening } = args;
    const templates = privateBucket(
      `${name}-templates`,
      { protection: platform.protection, hardening, existingName: args.templates.bucketName },
      { parent: this },
    );
    const adopted = args.templates.bucketName !== undefined;
    if (applies(hardening, "tlsOnly", adopted)) {
      // The bot's bucket keeps what its owner granted in its policy, if it has one.
      bucketPolicy(
        `${name}-templates-policy`,
        templates.bucket,
        {
          statements: [],
          tlsOnly: true,
          keepExisting: adopted ? { bucketName: args.templates.bucketName!, orNone: true } : undefined,
          adopted,
          dependsOn: templates.publicAccessBlock ? [templates.publicAccessBlock] : [],
        },
        { parent: this },
      );
    }
    return templates.bucket;
  }

  /** The ECR repository of the sync's images, adopted or created. */
  private createRepository(name: string, args: SkillAppSyncArgs): aws.ecr.Repository {
    return imageRepository(
      `${name}-images`,
      { existingName: args.repositoryName, keepImages: args.keepImages, protection: args.platform.protection, hardening: args.hardening },
      { parent: this },
    ).repository;
  }

  /** The image of the sync's bundle, built for arm64 and pushed to the repository. */
  private createImage(name: string): awsx.ecr.Image {
    const context = imageContext(HANDLER, `${name}-sync`);
    return new awsx.ecr.Image(
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
  }

  /** The queue of runs the scheduler could not deliver and of runs that failed every retry. */
  private createFailedInvocations(name: string, args: SkillAppSyncArgs): DeadLetterQueue {
    return new DeadLetterQueue(
      `${name}-failed-invocations`,
      { platform: args.platform, description: "Skill App syncs that failed every retry", hardening: args.hardening },
      { parent: this },
    );
  }

  /** The sync function, run from the image, one at a time unless the config says otherwise. */
  private createFunction(name: string, args: SkillAppSyncArgs, secrets: SecretParameters): NodeImageFunction {
    return new NodeImageFunction(
      `${name}-sync`,
      {
        handler: HANDLER,
        imageUri: this.image.imageUri,
        description: "Syncs the Skill App from Airtable, Badgr and GitHub",
        ...functionSizing(args.function),
        reservedConcurrency: args.function.reservedConcurrency ?? 1,
        vpc: args.vpc,
        environment: syncEnvironment(args, this.templatesBucket, secrets),
        statements: syncStatements(this.templatesBucket, secrets),
        platform: args.platform,
        asyncInvocation: asyncRetryWithin(args.delivery, this.failedInvocations),
      },
      { parent: this },
    );
  }

  /** The EventBridge Scheduler schedule that runs the sync. */
  private createSchedule(name: string, args: SkillAppSyncArgs): FunctionSchedule {
    return new FunctionSchedule(
      `${name}-schedule`,
      {
        expression: args.schedule.expression,
        enabled: args.schedule.enabled,
        function: this.function,
        retry: args.delivery,
        description: "the Skill App sync",
        deadLetterQueue: this.failedInvocations,
        // Made directly under this component until FunctionSchedule existed (commit 06647f4).
        previously: {
          role: [{ name: `${name}-scheduler`, parent: this }],
          policy: [{ name: `${name}-scheduler-policy`, parent: this }],
          schedule: [{ parent: this }],
        },
      },
      { parent: this },
    );
  }

  /** The app's dashboard: the function and the failed-invocations queue. */
  private createDashboard(name: string, args: SkillAppSyncArgs): AppDashboard {
    return new AppDashboard(
      `${name}-dashboard`,
      {
        app: "skills",
        functions: [this.function.monitoring],
        queues: [this.failedInvocations.monitoring],
        apis: [],
        alarming: args.platform.alarming,
      },
      { parent: this },
    );
  }
}

/** A managed policy that may list and read the templates, for the GitHub bot's role. */
function templatesReadPolicy(name: string, bucket: aws.s3.Bucket, opts: pulumi.CustomResourceOptions): aws.iam.Policy {
  return new aws.iam.Policy(
    name,
    {
      description: "Read the Skill App templates",
      policy: policyDocument([
        { Sid: "ListTemplates", Action: "s3:ListBucket", Resource: bucket.arn },
        { Sid: "ReadTemplates", Action: "s3:GetObject", Resource: pulumi.interpolate`${bucket.arn}/*` },
      ]),
    },
    opts,
  );
}

type SecretParameters = { secret: SkillsSecret; parameter: SecureParameter }[];

/** One SSM parameter per secret that config gives. */
function secretParameters(name: string, secrets: SkillAppSyncArgs["secrets"], opts: pulumi.CustomResourceOptions): SecretParameters {
  return Object.entries(secrets)
    .filter((entry): entry is [SkillsSecret, pulumi.Input<string>] => entry[1] !== undefined)
    .map(([secret, value]) => ({
      secret,
      parameter: secureParameter(
        `${name}-${secret.toLowerCase().replace(/_/g, "-")}`,
        { value, description: `Skill App sync: ${secret}` },
        opts,
      ),
    }));
}

/** What skill-sync reads at cold start (see handlers/skills/sync.ts): settings, and the names of its secrets' parameters. */
function syncEnvironment(args: SkillAppSyncArgs, bucket: aws.s3.Bucket, secrets: SecretParameters): Record<string, pulumi.Input<string>> {
  return {
    [SKILLS_ENV.templatesBucket]: bucket.bucket,
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
    ...secretsEnvironment(Object.fromEntries(secrets.map(({ secret, parameter }) => [secret, parameter])), args.platform),
  };
}

/**
 * Put and replace templates (deleting what a moved tag no longer has), write and read the
 * release records, list both prefixes, read its own secrets.
 */
function syncStatements(bucket: aws.s3.Bucket, secrets: SecretParameters): PolicyStatement[] {
  return [
    {
      Sid: "UploadAndReplaceTemplates",
      Action: ["s3:PutObject", "s3:DeleteObject"],
      Resource: [pulumi.interpolate`${bucket.arn}/${SKILLS_BUCKET_PREFIXES.templates}*`],
    },
    {
      Sid: "RecordReleases",
      Action: ["s3:PutObject", "s3:GetObject"],
      Resource: [pulumi.interpolate`${bucket.arn}/${SKILLS_BUCKET_PREFIXES.syncedReleases}*`],
    },
    {
      Sid: "ListTemplatesAndReleases",
      Action: ["s3:ListBucket"],
      Resource: [bucket.arn],
      Condition: { StringLike: { "s3:prefix": [`${SKILLS_BUCKET_PREFIXES.syncedReleases}*`, `${SKILLS_BUCKET_PREFIXES.templates}*`] } },
    },
    ...secrets.map(({ secret, parameter }) => ({ ...parameter.readStatement, Sid: `Read${secret.replace(/_/g, "")}` })),
  ];
}
