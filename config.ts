/**
 * The stack configuration: one zod schema with a block per app, and the loader that
 * `index.ts` calls first. Every value a component needs arrives through here.
 *
 * Keys live in the `tributary` namespace (`tributary:alma`, `tributary:logRetentionDays`).
 * App blocks are structured values in `Pulumi.<stack>.yaml`; an app whose block is absent
 * is not deployed. Secrets are separate top-level keys, read only with `requireSecret`,
 * and only for the apps that are enabled.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

/**
 * Pulumi's own test of whether a config value arrived as a secret (encrypted in the stack
 * file, or an ESC secret). The SDK marks it internal, so its type is declared here.
 */
const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };
import type { Improvement } from "./components/adoption";
import { DEAD_LETTER_RETENTION_SECONDS } from "./components/events/dead-letter-facts";
import type { FunctionSizing } from "./components/lambda/node-function";
import { SQS_MAXIMUM_CONCURRENCY_LIMITS } from "./components/lambda/runtime";
import { type AlarmSettings, STAGES, type Stage } from "./components/platform";
import { ORIGINALS, type OriginalsApp, originalOf, sourceOf } from "./components/originals";
import { MINIMUM_EVENT_AGE_SECONDS, type RetryBounds, TARGET_RETRY_LIMITS } from "./components/retry-bounds";
import {
  ALMA_EVENTS,
  DEFAULT_SECRETS_MAX_AGE_SECONDS,
  DEFAULT_WEBHOOK_SECRET_ROTATION_WINDOW_HOURS,
  TOKEN_REQUEST_FORMATS,
} from "./handlers/lib/env-names";

export const PROJECT = "tributary";

/** The retention periods CloudWatch Logs accepts (0 would mean "never expire", which we never want). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Settings that differ per stage. Each can be overridden by the top-level key of the same name. */
export interface StageSettings {
  /** CloudWatch log retention of every function and access log. */
  logRetentionDays: (typeof LOG_RETENTION_DAYS)[number];
  /** Point-in-time recovery on DynamoDB tables. */
  pointInTimeRecovery: boolean;
  /**
   * Deletion protection on stateful resources that support it (user pools, tables), and
   * Pulumi's `protect` on every stateful resource. Where it is off, buckets and image
   * repositories may also be deleted while they still hold objects (`forceDestroy`).
   */
  deletionProtection: boolean;
  /**
   * Leave stateful resources (tables, queues, topics, buckets, repositories, user pools,
   * event buses) in the cloud when Pulumi deletes or replaces them. Adopted resources are
   * always retained: the stack never deletes what it did not create.
   */
  retainOnDelete: boolean;
  /** Days an EventBridge archive keeps events for replay. */
  eventArchiveRetentionDays: number;
  alarms: AlarmSettings;
}

/** The one place where per-stage defaults live. */
export const STAGE_DEFAULTS: Record<Stage, StageSettings> = {
  dev: {
    logRetentionDays: 14,
    pointInTimeRecovery: false,
    deletionProtection: false,
    retainOnDelete: true,
    eventArchiveRetentionDays: 7,
    alarms: {
      lambdaErrorsThreshold: 5,
      deadLetterDepthThreshold: 1,
      queueBacklogThreshold: 1000,
      apiServerErrorsThreshold: 5,
      periodSeconds: 300,
      evaluationPeriods: 1,
    },
  },
  staging: {
    logRetentionDays: 30,
    pointInTimeRecovery: false,
    deletionProtection: false,
    retainOnDelete: true,
    eventArchiveRetentionDays: 14,
    alarms: {
      lambdaErrorsThreshold: 3,
      deadLetterDepthThreshold: 1,
      queueBacklogThreshold: 1000,
      apiServerErrorsThreshold: 3,
      periodSeconds: 300,
      evaluationPeriods: 1,
    },
  },
  prod: {
    logRetentionDays: 90,
    pointInTimeRecovery: true,
    deletionProtection: true,
    retainOnDelete: true,
    eventArchiveRetentionDays: 30,
    alarms: {
      lambdaErrorsThreshold: 1,
      deadLetterDepthThreshold: 1,
      queueBacklogThreshold: 1000,
      apiServerErrorsThreshold: 1,
      periodSeconds: 60,
      evaluationPeriods: 1,
    },
  },
};

// ---------------------------------------------------------------------------------------------
// Schema pieces shared by several app blocks.

const nonEmpty = z.string().trim().min(1, "must not be empty");
const httpsUrl = z.url({ protocol: /^https$/, error: "must be an https:// URL" });
const awsArn = z.string().regex(/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$/, "must be an AWS ARN");
const snsTopicArn = z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, "must be an SNS topic ARN");
/** Names of existing resources to adopt (see docs/cutover.md). */
const tableName = z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, "must be a DynamoDB table name");
const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name");
const queueUrl = z
  .string()
  .regex(
    /^https:\/\/sqs\.[a-z0-9-]+\.amazonaws\.com\/\d{12}\/[A-Za-z0-9_-]{1,80}(\.fifo)?$/,
    "must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)",
  );
const eventBusName = z.string().regex(/^[A-Za-z0-9._\-/]{1,256}$/, "must be an EventBridge bus name");
/** An app's own region, when its resources are not in the stack's `aws:region` (the originals of hdoc, lessons and skills run in us-east-1). */
const awsRegion = z
  .string()
  .regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, "must be an AWS region such as us-east-1")
  .optional();
const atlasId = (what: string) => z.string().regex(/^[0-9a-f]{24}$/, `must be a 24-character ${what}`);
/** CloudEvent types and similar dotted identifiers. */
const eventType = z.string().regex(/^[A-Za-z0-9._:-]+$/, "must be a dotted event type such as fct.record.created");

/** Sizing of one Lambda function. */
const functionSettings = (defaults: { memoryMb: number; timeoutSeconds: number }) =>
  z
    .strictObject({
      /** Memory in MB (128-10240). */
      memoryMb: z.number().int().min(128).max(10240).default(defaults.memoryMb),
      /** Timeout in seconds (1-900). */
      timeoutSeconds: z.number().int().min(1).max(900).default(defaults.timeoutSeconds),
      /** Reserved concurrency; absent means the account's unreserved pool. */
      reservedConcurrency: z.number().int().min(0).optional(),
      /** Active X-Ray tracing. */
      tracing: z.boolean().default(false),
    })
    .prefault({});

/** A function block of config as NodeFunction takes it: the one place memoryMb and timeoutSeconds are mapped. */
export function functionSizing(settings: FunctionSettings): FunctionSizing {
  return {
    memorySize: settings.memoryMb,
    timeout: settings.timeoutSeconds,
    reservedConcurrency: settings.reservedConcurrency,
    tracing: settings.tracing,
  };
}

/** The improvements each app offers (see components/adoption.ts), in the order docs/cutover.md lists them. */
export const APP_IMPROVEMENTS = {
  lessons: ["triggerMatch", "tlsOnly"],
  skills: [
    "encryption",
    "blockPublicAccess",
    "versioning",
    "immutableImageTags",
    "scanImagesOnPush",
    "imageLifecycle",
    "imagePullPolicy",
    "tlsOnly",
  ],
  iota: ["tlsOnly"],
  alma: ["encryption", "pointInTimeRecovery", "deletionProtection", "onDemandCapacity", "queueSettings", "tlsOnly"],
  hdoc: [
    "encryption",
    "pointInTimeRecovery",
    "deletionProtection",
    "onDemandCapacity",
    "blockPublicAccess",
    "versioning",
    "preventUserExistenceErrors",
    "exclusiveBucketPolicy",
    "tlsOnly",
  ],
} as const satisfies Record<string, readonly Improvement[]>;

/**
 * An app's `hardening` block: per improvement, true applies it to everything the app has,
 * false to nothing; absent, to what the stack creates and not to what it adopts.
 */
const hardening = (improvements: readonly Improvement[]) =>
  z
    .strictObject(
      Object.fromEntries(improvements.map((i) => [i, z.boolean().optional()])) as Record<Improvement, z.ZodOptional<z.ZodBoolean>>,
    )
    .prefault({});

/** Retry bounds of an asynchronous delivery (event invoke config, EventBridge or Scheduler target), within the service's limits. */
const asyncRetry = (defaults: RetryBounds, limits: RetryBounds) =>
  z
    .strictObject({
      maximumRetryAttempts: z.number().int().min(0).max(limits.maximumRetryAttempts).default(defaults.maximumRetryAttempts),
      maximumEventAgeSeconds: z
        .number()
        .int()
        .min(MINIMUM_EVENT_AGE_SECONDS)
        .max(limits.maximumEventAgeSeconds)
        .default(defaults.maximumEventAgeSeconds),
    })
    .prefault({});

// ---------------------------------------------------------------------------------------------
// App blocks.

const lessonsSchema = z.strictObject({
  atlas: z.strictObject({
    /** Atlas project (group) id that holds the cluster. */
    projectId: atlasId("Atlas project id"),
    /** Name of the cluster that holds `freecodecamp.user`. */
    clusterName: nonEmpty,
    /** Existing App Services app id; when absent, the program creates the app. */
    appId: atlasId("App Services app id").optional(),
    /** Id of the app's linked cluster service; required together with `appId`. */
    clusterServiceId: atlasId("service id").optional(),
    /**
     * Existing trigger of that app to adopt, with the partner event bus named after it, so
     * that events keep flowing through the move. Needs `appId`.
     */
    triggerId: atlasId("trigger id").optional(),
    /** Base URL of the App Services Admin API. */
    adminApiUrl: httpsUrl.default("https://services.cloud.mongodb.com/api/admin/v3.0"),
    database: nonEmpty.default("freecodecamp"),
    collection: nonEmpty.default("user"),
  }),
  auth0: z.strictObject({
    /** OAuth2 token endpoint (AUTH0_URL), for example https://tenant.auth0.com/oauth/token. */
    tokenUrl: httpsUrl,
    /**
     * The audience the token is asked for (AUTH0_AUDIENCE). No default: a wrong one makes
     * Auth0 refuse every token. The original's dev value is https://m2m.topcoder-dev.com/
     * (learning-paths-api's src/utils/mongodb-trigger-handler/README.md and config/test.js).
     */
    audience: nonEmpty,
    /** How the token request's body is encoded: `json` (as the original's tc-core-library-js sent it) or `form`. */
    tokenRequestFormat: z.enum(TOKEN_REQUEST_FORMATS).default("json"),
    /** Scopes granted to the machine-to-machine client it creates (default update:certification_progress); an adopted grant keeps its own. */
    scopes: z.array(nonEmpty).min(1).optional(),
    /** The existing M2M application the original handler uses (its client id), adopted with its grant; needs `grantId`. */
    clientId: z
      .string()
      .regex(/^[A-Za-z0-9]{16,64}$/, "must be an Auth0 client id")
      .optional(),
    /** The existing grant of that application on `audience` (cgr_…), adopted. */
    grantId: z
      .string()
      .regex(/^cgr_[A-Za-z0-9]+$/, "must be an Auth0 client grant id (cgr_…)")
      .optional(),
  }),
  /** The Learning Paths API endpoint that marks a lesson complete (PUT), as the seed names it: `…/v5/learning-paths/certification-progresses/complete-lesson-via-mongo-trigger`. */
  learningPathsApiEndpoint: httpsUrl,
  /**
   * Lessons of one update sent at once. 1 (the default) sends them in order, one at a time,
   * as the original did: the API's completeLesson counts, inserts, then sets the module's
   * status, so lessons of one module sent together can race.
   */
  concurrency: z.number().int().min(1).max(16).default(1),
  function: functionSettings({ memoryMb: 256, timeoutSeconds: 60 }),
  /** Retry bounds of the EventBridge target (up to 185 attempts, 24 h). */
  delivery: asyncRetry(TARGET_RETRY_LIMITS, TARGET_RETRY_LIMITS),
  /** The cutover switch: the rule stays disabled and the bus's archive keeps the events for a replay (docs/cutover.md, lessons). */
  paused: z.boolean().default(false),
  region: awsRegion,
  hardening: hardening(APP_IMPROVEMENTS.lessons),
});

const skillsSchema = z.strictObject({
  airtable: z.strictObject({
    apiUrl: httpsUrl.default("https://api.airtable.com/v0"),
    baseId: z.string().regex(/^app[A-Za-z0-9]{14}$/, "must be an Airtable base id (app + 14 characters)"),
    table: nonEmpty.default("assessments"),
    /** Pages of 100 records read at most; past it, the source fails instead of looping. */
    maxPages: z.number().int().min(1).max(10_000).default(100),
  }),
  badgr: z.strictObject({
    baseUrl: httpsUrl.default("https://api.badgr.io"),
    issuerId: nonEmpty,
    /** The token request's scope and grant type, as the Skill App sent them. */
    scope: nonEmpty.default("rw:issuer rw:backpack"),
    grantType: nonEmpty.default("password"),
    /** Pages read at most per list; past it, the source fails instead of looping. */
    maxPages: z.number().int().min(1).max(10_000).default(100),
  }),
  github: z.strictObject({
    apiUrl: httpsUrl.default("https://api.github.com"),
    org: nonEmpty,
  }),
  templates: z
    .strictObject({
      /** The bot's existing templates bucket, adopted; when absent, the stack creates one. */
      bucketName: bucketName.optional(),
      /** Uncompressed bytes one release archive may expand to. */
      maxBytes: z
        .number()
        .int()
        .min(1)
        .max(10 * 1024 * 1024 * 1024)
        .default(100 * 1024 * 1024),
      /** Entries one release archive may hold. */
      maxEntries: z.number().int().min(1).max(1_000_000).default(5_000),
    })
    .prefault({}),
  /**
   * The subnets and security groups of the BRN database's VPC, when the database (RDS) is
   * only reachable inside it. The subnets need a route to the internet (Airtable, Badgr,
   * GitHub) and to S3 and SSM, through a NAT gateway or VPC endpoints.
   */
  vpc: z
    .strictObject({
      subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id")).min(1),
      securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, "must be a security group id")).min(1),
    })
    .optional(),
  /** The existing ECR repository of the sync's image, adopted; when absent, the stack creates one. */
  repositoryName: z
    .string()
    .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, "must be an ECR repository name")
    .optional(),
  schedule: z
    .strictObject({
      /** Switch the schedule off (for example, paused in dev) without removing it. */
      enabled: z.boolean().default(true),
      expression: z
        .string()
        .regex(/^(rate|cron|at)\(.+\)$/, "must be a Scheduler expression such as rate(6 hours)")
        .default("rate(6 hours)"),
    })
    .prefault({}),
  /** How many images the ECR lifecycle policy keeps. */
  keepImages: z.number().int().min(1).max(1000).default(10),
  function: functionSettings({ memoryMb: 512, timeoutSeconds: 600 }),
  /** Retry bounds of the schedule target (up to 185 attempts, 24 h). */
  delivery: asyncRetry({ maximumRetryAttempts: 3, maximumEventAgeSeconds: 3600 }, TARGET_RETRY_LIMITS),
  region: awsRegion,
  hardening: hardening(APP_IMPROVEMENTS.skills),
});

/** The longest an iota event can come back: its dead-letter queue's retention after EventBridge's longest retries, in whole days (15). */
export const MIN_JOURNAL_RETENTION_DAYS = Math.ceil((DEAD_LETTER_RETENTION_SECONDS + TARGET_RETRY_LIMITS.maximumEventAgeSeconds) / 86_400);

const iotaSchema = z.strictObject({
  /** Existing EventBridge bus to listen on and emit to, adopted; when absent, the program creates one. */
  eventBusName: eventBusName.optional(),
  /** MongoDB database that holds the journal and the records. */
  mongoDatabase: nonEmpty,
  /**
   * Days a committed journal entry is kept, once its events are sent, before MongoDB's TTL
   * index removes it. An event can come back until its dead-letter queue drops it, after
   * EventBridge's retries: a shorter retention would let a redriven duplicate apply twice.
   */
  journalRetentionDays: z
    .number()
    .int()
    .min(
      MIN_JOURNAL_RETENTION_DAYS,
      `must be at least ${MIN_JOURNAL_RETENTION_DAYS}: the dead-letter queue keeps an event 14 days, after up to 24 h of EventBridge's retries`,
    )
    .max(3650)
    .default(MIN_JOURNAL_RETENTION_DAYS),
  services: z
    .array(
      z.strictObject({
        /** Service id: the `source` of the events it emits and part of the journal key. */
        id: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, "must be lower-case letters, digits, dots and dashes"),
        /** The service's function, `handlers/iota/functions/<handler>.ts`. */
        handler: z.string().regex(/^[a-z0-9-]+$/, "must be a function name (handlers/iota/functions/<name>.ts)"),
        /** CloudEvent types the service consumes. */
        consumes: z.array(eventType).min(1),
        function: functionSettings({ memoryMb: 256, timeoutSeconds: 30 }),
        delivery: asyncRetry(TARGET_RETRY_LIMITS, TARGET_RETRY_LIMITS),
      }),
    )
    .min(1),
  region: awsRegion,
  hardening: hardening(APP_IMPROVEMENTS.iota),
});

const almaSchema = z.strictObject({
  /** Existing topic ARN per Alma event, adopted; every event not named here gets a topic created by this stack. */
  topicArns: z.partialRecord(z.enum(ALMA_EVENTS), snsTopicArn).default({}),
  /** Existing cache tables, adopted; every table not named here is created by this stack. */
  tableNames: z.partialRecord(z.enum(["users", "loans", "requests"]), tableName).default({}),
  /** The existing users queue (that the bulk-update service reads), adopted. */
  usersQueueUrl: queueUrl.optional(),
  /** The existing users queue's dead-letter queue, adopted. */
  usersDeadLetterQueueUrl: queueUrl.optional(),
  /** Timeout of the users-queue consumer (the bulk-update service), which sets the queue's visibility timeout. */
  usersQueueConsumerTimeoutSeconds: z.number().int().min(1).max(900).optional(),
  function: functionSettings({ memoryMb: 256, timeoutSeconds: 30 }),
  /**
   * The cutover switch: while true, the four cache functions do not read their queues, and
   * every event waits there (up to 14 days) until it is set back to false. See docs/cutover.md.
   */
  paused: z.boolean().default(false),
  /** Concurrent invocations of each cache function at most, reading its queue (SQS allows 2 to 1000). */
  maximumConcurrency: z.number().int().min(SQS_MAXIMUM_CONCURRENCY_LIMITS.min).max(SQS_MAXIMUM_CONCURRENCY_LIMITS.max).default(5),
  /**
   * Hours after a rotation of `almaWebhookSecret` during which the webhook still accepts
   * deliveries signed with the previous secret, so that Alma can be switched over within them
   * (0: only the current secret). See docs/deploy.md, "Rotating secrets".
   */
  webhookSecretRotationWindowHours: z.number().int().min(0).max(720).default(DEFAULT_WEBHOOK_SECRET_ROTATION_WINDOW_HOURS),
  region: awsRegion,
  hardening: hardening(APP_IMPROVEMENTS.alma),
});

/** The hdoc API's routes; each reads the users table. */
export const HDOC_ROUTE_KEYS = ["GET /user", "GET /users"] as const;
/** The users table's key, which every answer keeps. */
const HDOC_KEY = "github_username";
/** What the original API answered but the public routes leave out by default: a user's e-mail address and Cognito identity. */
export const HDOC_PRIVATE_ATTRIBUTES = ["email", "cognito_sub"] as const;

const hdocSchema = z.strictObject({
  /** The existing users table, adopted; when absent, the stack creates one. */
  usersTableName: tableName.optional(),
  auth: z.strictObject({
    /**
     * Existing Cognito user pool, adopted with its own settings (attributes, triggers, e-mail)
     * and its hosted-UI domain, which must then be `domainPrefix`.
     */
    userPoolId: z
      .string()
      .regex(/^[a-z]{2}-[a-z]+-\d_[A-Za-z0-9]{1,55}$/, "must be a Cognito user pool id such as eu-west-2_AbCdEf123")
      .optional(),
    /** Existing app client of that pool, adopted (the frontend knows its id); needs `userPoolId`. */
    clientId: z
      .string()
      .regex(/^[a-z0-9]{1,128}$/, "must be a Cognito app client id")
      .optional(),
    /** Prefix of the Cognito hosted-UI domain (<prefix>.auth.<region>.amazoncognito.com). */
    domainPrefix: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "must be lower-case letters, digits and dashes"),
    /** Where the hosted UI may return to: needed when the client is created; an adopted client keeps its own. */
    callbackUrls: z.array(z.url()).min(1).optional(),
    logoutUrls: z.array(z.url()).min(1).optional(),
  }),
  api: z
    .strictObject({
      /** Allowed CORS origins: any (`*`), as the original answered, unless origins are listed. */
      corsOrigins: z
        .array(z.union([z.literal("*"), z.url()]))
        .min(1)
        .default(["*"]),
      throttling: z
        .strictObject({
          burstLimit: z.number().int().min(1).default(50),
          rateLimit: z.number().min(1).default(100),
        })
        .prefault({}),
      /**
       * Routes that require a Cognito JWT: none, or every route, since each reads the users
       * (`GET /users?username=X` answers what `GET /user?username=X` does).
       */
      protectedRoutes: z
        .array(z.enum(HDOC_ROUTE_KEYS))
        .default([])
        .superRefine((routes, ctx) => {
          const open = HDOC_ROUTE_KEYS.filter((key) => !routes.includes(key));
          if (routes.length > 0 && open.length > 0) {
            ctx.addIssue({
              code: "custom",
              message: `protects ${routes.join(", ")} but not ${open.join(", ")}, which reads the same users (GET /users?username=X answers what GET /user?username=X does): list every route (${HDOC_ROUTE_KEYS.join(", ")}), or none`,
            });
          }
        }),
      /**
       * The attributes of a user the routes answer with: `only` those listed, or all `except`
       * those listed. The original answered every attribute, `email` and `cognito_sub` too.
       */
      publicAttributes: z
        .strictObject({
          only: z
            .array(z.string().min(1))
            .min(1)
            .refine((names) => names.includes(HDOC_KEY), `must include ${HDOC_KEY}, the key a user is found by`)
            .optional(),
          except: z
            .array(z.string().min(1))
            .refine((names) => !names.includes(HDOC_KEY), `cannot leave out ${HDOC_KEY}, the key a user is found by`)
            .optional(),
        })
        .refine(
          (p) => (p.only === undefined) !== (p.except === undefined),
          "give either only (the attributes answered) or except (the attributes left out)",
        )
        .default({ except: [...HDOC_PRIVATE_ATTRIBUTES] }),
    })
    .prefault({}),
  frontend: z
    .strictObject({
      /** The frontend's existing bucket, adopted; when absent, the stack creates one. */
      bucketName: bucketName.optional(),
      /** The site's own domain: the distribution's aliases and an ACM certificate (in us-east-1, as CloudFront needs). */
      domain: z
        .strictObject({
          /** Host names of the site; the first is the certificate's subject. */
          names: z
            .array(z.string().regex(/^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a lower-case host name"))
            .min(1),
          /** A Route 53 hosted zone for the names: the certificate's validation records are written there. */
          hostedZoneId: z
            .string()
            .regex(/^Z[A-Z0-9]{1,32}$/, "must be a Route 53 hosted zone id")
            .optional(),
        })
        .optional(),
    })
    .prefault({}),
  function: functionSettings({ memoryMb: 256, timeoutSeconds: 10 }),
  region: awsRegion,
  hardening: hardening(APP_IMPROVEMENTS.hdoc),
});

const alarmsSchema = z
  .strictObject({
    /** E-mail address subscribed to the stack's alarm topic. */
    email: z.email().optional(),
    /** Existing SNS topic for alarm notifications, instead of creating one. */
    topicArn: awsArn.optional(),
    lambdaErrorsThreshold: z.number().int().min(1).optional(),
    deadLetterDepthThreshold: z.number().int().min(1).optional(),
    queueBacklogThreshold: z.number().int().min(1).optional(),
    apiServerErrorsThreshold: z.number().int().min(1).optional(),
    /** Where the alarms' descriptions link the runbook: docs/runbook.md as the team reads it (for example on GitHub). Default: its path in the repository. */
    runbookUrl: httpsUrl.optional(),
  })
  .prefault({});

/** The whole stack configuration, as written under `config:` in Pulumi.<stack>.yaml. */
export const configSchema = z.strictObject({
  /** Stage whose defaults apply; defaults to the stack name when that is dev, staging or prod. */
  stage: z.enum(STAGES).optional(),
  logRetentionDays: z
    .number()
    .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
      message: `must be one of ${LOG_RETENTION_DAYS.join(", ")}`,
    })
    .optional(),
  pointInTimeRecovery: z.boolean().optional(),
  /** Overrides the stage's `retainOnDelete` for the resources this stack creates (adopted ones are always kept). */
  retainStatefulResources: z.boolean().optional(),
  eventArchiveRetentionDays: z.number().int().min(1).max(3650).optional(),
  /**
   * How long a function uses a secret it read from SSM before reading it again, in seconds:
   * a rotated secret reaches warm containers within this time, or at once where the old one
   * fails. At least 10 (SSM's GetParameter throughput is shared by the account).
   */
  secretsMaxAgeSeconds: z.number().int().min(10).max(3600).default(DEFAULT_SECRETS_MAX_AGE_SECONDS),
  alarms: alarmsSchema,
  lessons: lessonsSchema.optional(),
  skills: skillsSchema.optional(),
  iota: iotaSchema.optional(),
  alma: almaSchema.optional(),
  hdoc: hdocSchema.optional(),
});

export type RawConfig = z.infer<typeof configSchema>;
export type FunctionSettings = z.infer<ReturnType<typeof functionSettings>>;
export const APPS = ["lessons", "skills", "iota", "alma", "hdoc"] as const;
export type App = (typeof APPS)[number];

// ---------------------------------------------------------------------------------------------
// Secrets.

/** A secret the program reads with `requireSecret`, with the app that needs it. */
export interface SecretDeclaration {
  /** Full config key, `namespace:name`. */
  key: string;
  app: App;
  description: string;
  /** Needed only in some set-ups; read with `getSecret`. */
  optional?: boolean;
}

/**
 * Every secret the program can read. Provider keys (`mongodbatlas:*`, `auth0:*`) are read by
 * their providers too; they are listed so that a missing one fails here, with a clear message.
 */
export const SECRETS: readonly SecretDeclaration[] = [
  { key: "mongodbatlas:publicKey", app: "lessons", description: "Atlas programmatic API public key" },
  { key: "mongodbatlas:privateKey", app: "lessons", description: "Atlas programmatic API private key" },
  { key: "auth0:clientSecret", app: "lessons", description: "secret of the Auth0 Management API client Pulumi uses" },
  { key: "tributary:brnDatabaseUrl", app: "skills", description: "the BRN MySQL database, mysql://user:password@host:3306/database" },
  { key: "tributary:airtableToken", app: "skills", description: "Airtable personal access token" },
  { key: "tributary:badgrUsername", app: "skills", description: "Badgr account user name" },
  { key: "tributary:badgrPassword", app: "skills", description: "Badgr account password" },
  { key: "tributary:badgrClientId", app: "skills", description: "Badgr OAuth client id" },
  { key: "tributary:githubToken", app: "skills", description: "GitHub token for release downloads", optional: true },
  { key: "tributary:iotaMongoUri", app: "iota", description: "MongoDB connection string (replica set)" },
  { key: "tributary:almaWebhookSecret", app: "alma", description: "Alma webhook signing secret" },
];

/** Secrets of the enabled apps, as Outputs, keyed by full config key. */
export type Secrets = Record<string, pulumi.Output<string> | undefined>;

/** The loaded configuration: validated blocks, resolved stage settings and the secrets. */
export interface TributaryConfig
  extends Omit<
    RawConfig,
    "stage" | "logRetentionDays" | "pointInTimeRecovery" | "retainStatefulResources" | "eventArchiveRetentionDays" | "alarms"
  > {
  stack: string;
  stage: Stage;
  /** Stage defaults with the stack's overrides applied. */
  settings: StageSettings;
  alarms: { email?: string; topicArn?: string; runbookUrl?: string };
  secrets: Secrets;
}

/** A secret that loadConfig read for an enabled app. */
export function secretOf(config: TributaryConfig, key: string): pulumi.Output<string> {
  const value = config.secrets[key];
  if (!value) throw new Error(`secret ${key} was not loaded: is it declared in SECRETS for this app?`);
  return value;
}

/** One problem with the stack's configuration. */
export interface ConfigProblem {
  /** Full config key including the path inside a structured value: `tributary:alma.function.memoryMb`. */
  key: string;
  message: string;
  /** The command that fixes it. */
  fix: string;
}

export class ConfigError extends pulumi.RunError {
  constructor(
    readonly stack: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `Invalid configuration for stack "${stack}":\n${problems.map((p) => `  - ${p.key}: ${p.message}\n    fix: ${p.fix}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

function isStage(name: string): name is Stage {
  return (STAGES as readonly string[]).includes(name);
}

function setCommand(stack: string, key: string, opts: { secret?: boolean; path?: boolean } = {}): string {
  const flags = [opts.secret ? "--secret" : "", opts.path ? "--path" : ""].filter(Boolean).join(" ");
  const quoted = opts.path ? `'${key}'` : key;
  return `pulumi config set ${flags ? `${flags} ` : ""}${quoted} <value> --stack ${stack}`;
}

/**
 * The command that stores a declared secret (full key, `namespace:name`) encrypted. Every fix
 * that sets a secret uses it: without `--secret`, Pulumi writes the value in clear.
 */
export function secretSetCommand(stack: string, key: string): string {
  return setCommand(stack, key, { secret: true });
}

/** The declared secret with this full key, or this name in the `tributary` namespace. */
function secretNamed(key: string): SecretDeclaration | undefined {
  return SECRETS.find((s) => s.key === key || s.key === `${PROJECT}:${key}`);
}

/** Edit distance between two keys, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The known key closest to `key`. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const candidate of known) if (best === undefined || distance(key, candidate) < distance(key, best)) best = candidate;
  return best;
}

/** The keys a strict object accepts at `path` inside the schema, through optional, default and array wrappers. */
function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: any = schema;
  const unwrap = () => {
    while (["optional", "default", "prefault", "nullable"].includes(node?._zod?.def?.type)) node = node._zod.def.innerType;
  };
  unwrap();
  for (const segment of path) {
    const def = node?._zod?.def;
    if (def?.type === "object") node = def.shape[String(segment)];
    else if (def?.type === "array") node = def.element;
    else return [];
    unwrap();
  }
  return node?._zod?.def?.type === "object" ? Object.keys(node._zod.def.shape) : [];
}

/** How to get rid of an unknown key, naming the known key it most likely meant. */
function unknownKeyProblem(stack: string, key: string, name: string, known: readonly string[], nested: boolean): ConfigProblem {
  const near = nearestKey(name, known);
  // A secret's value must be set again with --secret, or Pulumi stores it in clear.
  const secret = !nested && near !== undefined ? secretNamed(near) : undefined;
  const setNear = secret ? secretSetCommand(stack, secret.key) : `pulumi config set ${PROJECT}:${near} <value> --stack ${stack}`;
  return {
    key,
    message: `unknown key; remove it${near ? `, or rename it to the known ${secret ? `secret (${secret.description})` : "key"} "${near}"` : ""} (nothing reads "${name}")`,
    fix: nested
      ? `pulumi config rm --path '${key}' --stack ${stack}, then set the right key with pulumi config set --path`
      : `pulumi config rm ${key} --stack ${stack}${near ? `, then ${setNear}` : ""}`,
  };
}

/** The problems for a zod error, each keyed by its full config key. */
function problemsOf(stack: string, error: z.ZodError): ConfigProblem[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(configSchema, issue.path);
      return issue.keys.map((name) => unknownKeyProblem(stack, `${PROJECT}:${[...path, name].join(".")}`, name, known, true));
    }
    const key = `${PROJECT}:${path.join(".")}`;
    const nested = path.length > 1;
    return [{ key, message: issue.message, fix: setCommand(stack, key, { path: nested }) }];
  });
}

/** Keys of the `tributary` namespace that are secrets, not part of the schema. */
const PROJECT_SECRET_NAMES = (): string[] =>
  SECRETS.filter((s) => s.key.startsWith(`${PROJECT}:`)).map((s) => s.key.slice(PROJECT.length + 1));

/** Pairs of keys that are given together, or one needs the other. */
function dependencyProblems(stack: string, raw: RawConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const need = (key: string, message: string) => problems.push({ key, message, fix: setCommand(stack, key, { path: true }) });
  if (raw.lessons) {
    const { appId, clusterServiceId, triggerId } = raw.lessons.atlas;
    if ((appId === undefined) !== (clusterServiceId === undefined)) {
      need(
        `${PROJECT}:lessons.atlas.${appId === undefined ? "appId" : "clusterServiceId"}`,
        "appId and clusterServiceId are given together or not at all",
      );
    }
    if (triggerId !== undefined && appId === undefined)
      need(`${PROJECT}:lessons.atlas.appId`, "an adopted trigger (triggerId) needs the app that holds it");
  }
  if (raw.hdoc?.auth.clientId !== undefined && raw.hdoc.auth.userPoolId === undefined) {
    need(`${PROJECT}:hdoc.auth.userPoolId`, "an adopted app client (clientId) needs the user pool that holds it");
  }
  if (raw.hdoc && raw.hdoc.auth.clientId === undefined) {
    for (const key of ["callbackUrls", "logoutUrls"] as const) {
      if (raw.hdoc.auth[key] === undefined) need(`${PROJECT}:hdoc.auth.${key}`, "the app client this stack creates needs its URLs");
    }
  }
  const auth0 = raw.lessons?.auth0;
  if (auth0 && (auth0.clientId === undefined) !== (auth0.grantId === undefined)) {
    need(
      `${PROJECT}:lessons.auth0.${auth0.clientId === undefined ? "clientId" : "grantId"}`,
      "an adopted Auth0 client (clientId) is adopted with its grant (grantId)",
    );
  }
  return problems;
}

/** A setting of an original resource, with where it came from, for messages. */
function originalValue(app: OriginalsApp, type: string, name: string, setting: string): string {
  const found = originalOf(type, name)?.resource;
  const original = found?.settings[setting] ?? found?.attachments?.[setting];
  const value = original?.kept ? "kept as its owner set it" : original?.value === null ? "none" : JSON.stringify(original?.value);
  return `${value} (${sourceOf(app, original)})`;
}

/**
 * Keys that would change a setting of a resource the stack adopts: the first `up` must
 * change nothing on them. Each names the original's value, and the improvement that makes
 * the change deliberate when there is one. `given` is the config as written, before defaults.
 */
function adoptionConflicts(stack: string, raw: RawConfig, given: Record<string, any>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const conflict = (key: string, message: string, optIn?: string) =>
    problems.push({
      key: `${PROJECT}:${key}`,
      message,
      fix: `pulumi config rm --path '${PROJECT}:${key}' --stack ${stack}${optIn ? `, or after the cutover opt in with pulumi config set --path '${PROJECT}:${optIn}' true --stack ${stack}` : ""}`,
    });
  if (raw.alma?.usersQueueUrl && given.alma?.usersQueueConsumerTimeoutSeconds !== undefined && !raw.alma.hardening.queueSettings) {
    conflict(
      "alma.usersQueueConsumerTimeoutSeconds",
      `would set the adopted users queue's visibility timeout to ${6 * given.alma.usersQueueConsumerTimeoutSeconds} s; the original's is ${originalValue("alma", "aws:sqs/queue:Queue", "alma-users", "visibilityTimeoutSeconds")}`,
      "alma.hardening.queueSettings",
    );
  }
  if (raw.skills?.repositoryName && given.skills?.keepImages !== undefined && !raw.skills.hardening.imageLifecycle) {
    conflict(
      "skills.keepImages",
      `would give the adopted image repository a lifecycle policy; the original's is ${originalValue("skills", "aws:ecr/repository:Repository", "skills-images", "aws:ecr/lifecyclePolicy:LifecyclePolicy")}`,
      "skills.hardening.imageLifecycle",
    );
  }
  for (const key of ["callbackUrls", "logoutUrls"]) {
    if (raw.hdoc?.auth.clientId && given.hdoc?.auth?.[key] !== undefined) {
      conflict(
        `hdoc.auth.${key}`,
        `would change the adopted app client's ${key}; the original's are ${originalValue("hdoc", "aws:cognito/userPoolClient:UserPoolClient", "hdoc-auth-client", key)}, the ClientDomains parameter: change them in Cognito`,
      );
    }
  }
  if (raw.lessons?.auth0.grantId && given.lessons?.auth0?.scopes !== undefined) {
    conflict(
      "lessons.auth0.scopes",
      `would change the adopted Auth0 grant's scopes; the original's are ${originalValue("lessons", "auth0:index/clientGrant:ClientGrant", "lessons-auth0-grant", "scopes")}: change them in the Auth0 dashboard`,
    );
  }
  return problems;
}

/** Whether an app's block adopts anything that runs today. */
export function adoptsOriginals(app: OriginalsApp, raw: RawConfig): boolean {
  switch (app) {
    case "alma":
      return (
        !!raw.alma &&
        (Object.keys(raw.alma.topicArns).length > 0 ||
          Object.keys(raw.alma.tableNames).length > 0 ||
          !!raw.alma.usersQueueUrl ||
          !!raw.alma.usersDeadLetterQueueUrl)
      );
    case "hdoc":
      return !!raw.hdoc && !!(raw.hdoc.usersTableName || raw.hdoc.auth.userPoolId || raw.hdoc.frontend.bucketName);
    case "skills":
      return !!raw.skills && !!(raw.skills.repositoryName || raw.skills.templates.bucketName);
    case "lessons":
      return !!raw.lessons && !!(raw.lessons.atlas.triggerId || raw.lessons.auth0.clientId);
    case "iota":
      return !!raw.iota?.eventBusName;
  }
}

/**
 * An app that adopts resources must look for them where the original runs: its `region`, or
 * the stack's `aws:region`, must be the original's.
 */
export function regionProblems(stack: string, raw: RawConfig, stackRegion: string | undefined): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const app of Object.keys(ORIGINALS) as OriginalsApp[]) {
    const original = ORIGINALS[app].region;
    if (!adoptsOriginals(app, raw) || typeof original?.value !== "string") continue;
    const region = raw[app]?.region ?? stackRegion;
    if (region === original.value) continue;
    problems.push({
      key: `${PROJECT}:${app}.region`,
      message: `the ${app} app adopts resources of the original, which runs in ${original.value} (${sourceOf(app, original)}); they would be looked for in ${region ?? "no region"}`,
      fix: setCommand(stack, `${PROJECT}:${app}.region`, { path: true }).replace("<value>", original.value),
    });
  }
  return problems;
}

/**
 * Validates the `tributary` namespace: a plain key → string map without the namespace (what
 * Pulumi hands the program), with JSON values parsed the way `Config.getObject` does. Every
 * key the schema does not know is a problem, named with the nearest known key.
 */
export function validateConfigValues(
  stack: string,
  values: Record<string, string | undefined>,
): { raw?: RawConfig; problems: ConfigProblem[] } {
  const raw: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  const schemaKeys = Object.keys(configSchema.shape);
  const secretNames = PROJECT_SECRET_NAMES();
  for (const [name, text] of Object.entries(values)) {
    if (text === undefined || secretNames.includes(name)) continue;
    if (!schemaKeys.includes(name)) {
      problems.push(unknownKeyProblem(stack, `${PROJECT}:${name}`, name, [...schemaKeys, ...secretNames], false));
      continue;
    }
    try {
      raw[name] = JSON.parse(text);
    } catch {
      // A plain string value, as `pulumi config set stage dev` stores it.
      raw[name] = text;
    }
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) return { problems: [...problems, ...problemsOf(stack, parsed.error)] };
  if ((parsed.data.stage ?? (isStage(stack) ? stack : undefined)) === undefined) {
    problems.push({
      key: `${PROJECT}:stage`,
      message: `stack "${stack}" is not dev, staging or prod, so its stage must be set`,
      fix: setCommand(stack, `${PROJECT}:stage`),
    });
  }
  problems.push(...dependencyProblems(stack, parsed.data), ...adoptionConflicts(stack, parsed.data, raw as Record<string, any>));
  return { raw: parsed.data, problems };
}

/** Like validateConfigValues, but throws one ConfigError naming every problem. */
export function parseConfigValues(stack: string, values: Record<string, string | undefined>): RawConfig {
  const { raw, problems } = validateConfigValues(stack, values);
  if (!raw || problems.length > 0) throw new ConfigError(stack, problems);
  return raw;
}

/**
 * Declared secrets that the stack file holds in clear: each must be set again with
 * `--secret`, which stores it encrypted (or come from a Pulumi ESC environment as a secret).
 */
export function secretsInClear(stack: string, allKeys: readonly string[], isSecret: (key: string) => boolean): ConfigProblem[] {
  return SECRETS.filter((s) => allKeys.includes(s.key) && !isSecret(s.key)).map((s) => ({
    key: s.key,
    message: `is a secret (${s.description}) but is written in clear; store it encrypted instead`,
    fix: secretSetCommand(stack, s.key),
  }));
}

/**
 * The Auth0 provider asks for a Management API token for `https://<domain>/api/v2/`. On a
 * custom domain that audience does not exist, so the tenant's own audience must be given.
 */
export function auth0Problems(stack: string, raw: RawConfig, provider: { domain?: string; audience?: string }): ConfigProblem[] {
  if (!raw.lessons) return [];
  if (!provider.domain) {
    return [
      { key: "auth0:domain", message: "the Auth0 tenant's domain is needed by the lessons app", fix: setCommand(stack, "auth0:domain") },
    ];
  }
  if (/\.auth0\.com$/.test(provider.domain) || provider.audience) return [];
  return [
    {
      key: "auth0:audience",
      message: `auth0:domain ${provider.domain} is a custom domain: the provider then needs the tenant's Management API audience (https://<tenant>.<region>.auth0.com/api/v2/)`,
      fix: setCommand(stack, "auth0:audience"),
    },
  ];
}

/** Applies the stack's overrides to the stage defaults. */
export function resolveStageSettings(stage: Stage, raw: RawConfig): StageSettings {
  const defaults = STAGE_DEFAULTS[stage];
  return {
    logRetentionDays: (raw.logRetentionDays as StageSettings["logRetentionDays"] | undefined) ?? defaults.logRetentionDays,
    pointInTimeRecovery: raw.pointInTimeRecovery ?? defaults.pointInTimeRecovery,
    deletionProtection: defaults.deletionProtection,
    retainOnDelete: raw.retainStatefulResources ?? defaults.retainOnDelete,
    eventArchiveRetentionDays: raw.eventArchiveRetentionDays ?? defaults.eventArchiveRetentionDays,
    alarms: {
      ...defaults.alarms,
      lambdaErrorsThreshold: raw.alarms.lambdaErrorsThreshold ?? defaults.alarms.lambdaErrorsThreshold,
      deadLetterDepthThreshold: raw.alarms.deadLetterDepthThreshold ?? defaults.alarms.deadLetterDepthThreshold,
      queueBacklogThreshold: raw.alarms.queueBacklogThreshold ?? defaults.alarms.queueBacklogThreshold,
      apiServerErrorsThreshold: raw.alarms.apiServerErrorsThreshold ?? defaults.alarms.apiServerErrorsThreshold,
    },
  };
}

/** The secrets that the enabled apps of `raw` need. */
export function requiredSecrets(raw: RawConfig): SecretDeclaration[] {
  return SECRETS.filter((s) => raw[s.app] !== undefined);
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf(":");
  return [key.slice(0, i), key.slice(i + 1)];
}

/**
 * Loads and validates the current stack's configuration. Throws one ConfigError that names
 * every bad or missing key, the stack, and the `pulumi config set` command that fixes it.
 */
export function loadConfig(): TributaryConfig {
  const stack = pulumi.getStack();
  const all = pulumi.runtime.allConfig();
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(all)) if (key.startsWith(`${PROJECT}:`)) values[key.slice(PROJECT.length + 1)] = value;
  const { raw, problems } = validateConfigValues(stack, values);
  problems.push(...secretsInClear(stack, Object.keys(all), isConfigSecret));
  if (raw)
    problems.push(
      ...auth0Problems(stack, raw, { domain: all["auth0:domain"], audience: all["auth0:audience"] }),
      ...regionProblems(stack, raw, all["aws:region"]),
    );
  if (!raw || problems.length > 0) throw new ConfigError(stack, problems);

  const secrets: Secrets = {};
  const missing: ConfigProblem[] = [];
  for (const declared of requiredSecrets(raw)) {
    const [namespace, name] = splitKey(declared.key);
    const bag = new pulumi.Config(namespace);
    if (declared.optional) {
      // Only the key's presence is looked at here; the value is read with getSecret.
      if (Object.hasOwn(all, declared.key)) secrets[declared.key] = bag.requireSecret(name);
      continue;
    }
    try {
      secrets[declared.key] = bag.requireSecret(name);
    } catch {
      missing.push({
        key: declared.key,
        message: `missing secret (${declared.description}), needed by the ${declared.app} app`,
        fix: secretSetCommand(stack, declared.key),
      });
    }
  }
  if (missing.length > 0) throw new ConfigError(stack, missing);

  const stage = raw.stage ?? (stack as Stage);
  const {
    logRetentionDays: _l,
    pointInTimeRecovery: _p,
    retainStatefulResources: _r,
    eventArchiveRetentionDays: _e,
    alarms,
    ...apps
  } = raw;
  return {
    ...apps,
    stack,
    stage,
    settings: resolveStageSettings(stage, raw),
    alarms: { email: alarms.email, topicArn: alarms.topicArn, runbookUrl: alarms.runbookUrl },
    secrets,
  };
}
