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
import { ALMA_EVENTS, type AlmaEvent } from "./handlers/lib/env-names";

export const PROJECT = "tributary";
export const STAGES = ["dev", "staging", "prod"] as const;
export type Stage = (typeof STAGES)[number];

/** The retention periods CloudWatch Logs accepts (0 would mean "never expire", which we never want). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Alarm thresholds shared by every function and dead-letter queue of a stage. */
export interface AlarmSettings {
  /** Lambda `Errors` sum over one period at or above which the errors alarm fires. */
  lambdaErrorsThreshold: number;
  /** Visible messages in a dead-letter queue at or above which its alarm fires. */
  deadLetterDepthThreshold: number;
  /** Length of one alarm period, in seconds. */
  periodSeconds: number;
  /** How many consecutive breaching periods fire the alarm. */
  evaluationPeriods: number;
}

/** Settings that differ per stage. Each can be overridden by the top-level key of the same name. */
export interface StageSettings {
  /** CloudWatch log retention of every function and access log. */
  logRetentionDays: (typeof LOG_RETENTION_DAYS)[number];
  /** Point-in-time recovery on DynamoDB tables. */
  pointInTimeRecovery: boolean;
  /** Deletion protection on stateful resources that support it (user pools, tables). */
  deletionProtection: boolean;
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
    eventArchiveRetentionDays: 7,
    alarms: { lambdaErrorsThreshold: 5, deadLetterDepthThreshold: 1, periodSeconds: 300, evaluationPeriods: 1 },
  },
  staging: {
    logRetentionDays: 30,
    pointInTimeRecovery: false,
    deletionProtection: false,
    eventArchiveRetentionDays: 14,
    alarms: { lambdaErrorsThreshold: 3, deadLetterDepthThreshold: 1, periodSeconds: 300, evaluationPeriods: 1 },
  },
  prod: {
    logRetentionDays: 90,
    pointInTimeRecovery: true,
    deletionProtection: true,
    eventArchiveRetentionDays: 30,
    alarms: { lambdaErrorsThreshold: 1, deadLetterDepthThreshold: 1, periodSeconds: 60, evaluationPeriods: 1 },
  },
};

// ---------------------------------------------------------------------------------------------
// Schema pieces shared by several app blocks.

const nonEmpty = z.string().trim().min(1, "must not be empty");
const httpsUrl = z.url({ protocol: /^https$/, error: "must be an https:// URL" });
const awsArn = z.string().regex(/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$/, "must be an AWS ARN");
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

/** The bounds each service puts on retries: Lambda's own async retries, or an EventBridge/Scheduler target's. */
const RETRY_LIMITS = {
  lambda: { maxAttempts: 2, maxAgeSeconds: 21600 },
  target: { maxAttempts: 185, maxAgeSeconds: 86400 },
} as const;

/** Retry bounds of an asynchronous delivery (event invoke config, EventBridge or Scheduler target). */
const asyncRetry = (
  defaults: { maximumRetryAttempts: number; maximumEventAgeSeconds: number },
  limits: { maxAttempts: number; maxAgeSeconds: number },
) =>
  z
    .strictObject({
      maximumRetryAttempts: z.number().int().min(0).max(limits.maxAttempts).default(defaults.maximumRetryAttempts),
      maximumEventAgeSeconds: z.number().int().min(60).max(limits.maxAgeSeconds).default(defaults.maximumEventAgeSeconds),
    })
    .prefault({});

// ---------------------------------------------------------------------------------------------
// App blocks.

export { ALMA_EVENTS, type AlmaEvent };

const lessonsSchema = z.strictObject({
  atlas: z.strictObject({
    /** Atlas project (group) id that holds the cluster. */
    projectId: z.string().regex(/^[0-9a-f]{24}$/, "must be a 24-character Atlas project id"),
    /** Name of the cluster that holds `freecodecamp.user`. */
    clusterName: nonEmpty,
    /** Existing App Services app id; when absent, the program creates the app. */
    appId: z.string().regex(/^[0-9a-f]{24}$/, "must be a 24-character App Services app id").optional(),
    /** Id of the app's linked cluster service; required together with `appId`. */
    clusterServiceId: z.string().regex(/^[0-9a-f]{24}$/, "must be a 24-character service id").optional(),
    /** Base URL of the App Services Admin API. */
    adminApiUrl: httpsUrl.default("https://services.cloud.mongodb.com/api/admin/v3.0"),
    database: nonEmpty.default("freecodecamp"),
    collection: nonEmpty.default("user"),
  }),
  auth0: z.strictObject({
    /** OAuth2 token endpoint (AUTH0_URL), for example https://tenant.auth0.com/oauth/token. */
    tokenUrl: httpsUrl,
    /** Audience (identifier) of the Learning Paths API in Auth0. */
    audience: nonEmpty,
    /** Scopes granted to the machine-to-machine client. */
    scopes: z.array(nonEmpty).min(1).default(["update:certification_progress"]),
  }),
  /** The Learning Paths API endpoint that marks a lesson complete (PUT). */
  learningPathsApiEndpoint: httpsUrl,
  function: functionSettings({ memoryMb: 256, timeoutSeconds: 60 }),
  /** Retry bounds of the EventBridge target (up to 185 attempts, 24 h). */
  delivery: asyncRetry({ maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 }, RETRY_LIMITS.target),
});

const skillsSchema = z.strictObject({
  airtable: z.strictObject({
    apiUrl: httpsUrl.default("https://api.airtable.com/v0"),
    baseId: z.string().regex(/^app[A-Za-z0-9]{14}$/, "must be an Airtable base id (app + 14 characters)"),
    table: nonEmpty.default("assessments"),
  }),
  badgr: z.strictObject({
    baseUrl: httpsUrl.default("https://api.badgr.io"),
    issuerId: nonEmpty,
  }),
  github: z.strictObject({
    apiUrl: httpsUrl.default("https://api.github.com"),
    org: nonEmpty,
  }),
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
  delivery: asyncRetry({ maximumRetryAttempts: 3, maximumEventAgeSeconds: 3600 }, RETRY_LIMITS.target),
});

const iotaSchema = z.strictObject({
  /** Existing EventBridge bus to listen on and emit to; when absent, the program creates one. */
  eventBusName: z.string().regex(/^[A-Za-z0-9._\-/]{1,256}$/, "must be an EventBridge bus name").optional(),
  /** MongoDB database that holds the journal and the records. */
  mongoDatabase: nonEmpty,
  services: z
    .array(
      z.strictObject({
        /** Service id: the `source` of the events it emits and part of the journal key. */
        id: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, "must be lower-case letters, digits, dots and dashes"),
        /** Folder under handlers/ that holds the service's entry. */
        handler: z.string().regex(/^[a-z0-9-]+$/, "must be a folder name under handlers/"),
        /** CloudEvent types the service consumes. */
        consumes: z.array(eventType).min(1),
        function: functionSettings({ memoryMb: 256, timeoutSeconds: 30 }),
        delivery: asyncRetry({ maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 }, RETRY_LIMITS.target),
      }),
    )
    .min(1),
});

const almaSchema = z.strictObject({
  /** Existing topic ARN per Alma event; every event not named here gets a topic created by this stack. */
  topicArns: z.partialRecord(z.enum(ALMA_EVENTS), awsArn).default({}),
  /** Timeout of the users-queue consumer (the bulk-update service), which sets the queue's visibility timeout. */
  usersQueueConsumerTimeoutSeconds: z.number().int().min(1).max(900).optional(),
  function: functionSettings({ memoryMb: 256, timeoutSeconds: 30 }),
  /** Retry bounds of each cache function's asynchronous invocations (SNS delivers asynchronously). */
  delivery: asyncRetry({ maximumRetryAttempts: 2, maximumEventAgeSeconds: 21600 }, RETRY_LIMITS.lambda),
});

const hdocSchema = z.strictObject({
  auth: z.strictObject({
    /** Prefix of the Cognito hosted-UI domain (<prefix>.auth.<region>.amazoncognito.com). */
    domainPrefix: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "must be lower-case letters, digits and dashes"),
    callbackUrls: z.array(z.url()).min(1),
    logoutUrls: z.array(z.url()).min(1),
  }),
  api: z
    .strictObject({
      /** Allowed CORS origins; `*` only when listed here on purpose. */
      corsOrigins: z.array(z.union([z.literal("*"), z.url()])).min(1),
      throttling: z
        .strictObject({
          burstLimit: z.number().int().min(1).default(50),
          rateLimit: z.number().min(1).default(100),
        })
        .prefault({}),
      /** Routes that require a Cognito JWT, for example "GET /users". */
      protectedRoutes: z.array(z.enum(["GET /user", "GET /users"])).default([]),
    })
    .prefault({ corsOrigins: ["*"] }),
  function: functionSettings({ memoryMb: 256, timeoutSeconds: 10 }),
});

const alarmsSchema = z
  .strictObject({
    /** E-mail address subscribed to the stack's alarm topic. */
    email: z.email().optional(),
    /** Existing SNS topic for alarm notifications, instead of creating one. */
    topicArn: awsArn.optional(),
    lambdaErrorsThreshold: z.number().int().min(1).optional(),
    deadLetterDepthThreshold: z.number().int().min(1).optional(),
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
  eventArchiveRetentionDays: z.number().int().min(1).max(3650).optional(),
  alarms: alarmsSchema,
  lessons: lessonsSchema.optional(),
  skills: skillsSchema.optional(),
  iota: iotaSchema.optional(),
  alma: almaSchema.optional(),
  hdoc: hdocSchema.optional(),
});

export type RawConfig = z.infer<typeof configSchema>;
export type LessonsConfig = z.infer<typeof lessonsSchema>;
export type SkillsConfig = z.infer<typeof skillsSchema>;
export type IotaConfig = z.infer<typeof iotaSchema>;
export type AlmaConfig = z.infer<typeof almaSchema>;
export type HdocConfig = z.infer<typeof hdocSchema>;
export type FunctionSettings = z.infer<ReturnType<typeof functionSettings>>;
export type AsyncRetrySettings = z.infer<ReturnType<typeof asyncRetry>>;
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
  /** Needed only when this returns true for the app's block. */
  when?: (cfg: RawConfig) => boolean;
}

/**
 * Every secret the program can read. Provider keys (`mongodbatlas:*`, `auth0:*`) are read by
 * their providers too; they are listed so that a missing one fails here, with a clear message.
 */
export const SECRETS: readonly SecretDeclaration[] = [
  { key: "mongodbatlas:publicKey", app: "lessons", description: "Atlas programmatic API public key" },
  { key: "mongodbatlas:privateKey", app: "lessons", description: "Atlas programmatic API private key" },
  { key: "auth0:clientSecret", app: "lessons", description: "secret of the Auth0 Management API client Pulumi uses" },
  { key: "tributary:airtableToken", app: "skills", description: "Airtable personal access token" },
  { key: "tributary:badgrUsername", app: "skills", description: "Badgr account user name" },
  { key: "tributary:badgrPassword", app: "skills", description: "Badgr account password" },
  { key: "tributary:badgrClientId", app: "skills", description: "Badgr OAuth client id" },
  { key: "tributary:githubToken", app: "skills", description: "GitHub token for release downloads", optional: true },
  { key: "tributary:iotaMongoUri", app: "iota", description: "MongoDB connection string (replica set)" },
  {
    key: "tributary:almaWebhookSecret",
    app: "alma",
    description: "Alma webhook signing secret",
    when: (cfg) => ALMA_EVENTS.some((e) => cfg.alma?.topicArns[e] === undefined),
  },
];

/** Secrets of the enabled apps, as Outputs, keyed by full config key. */
export type Secrets = Record<string, pulumi.Output<string> | undefined>;

/** The loaded configuration: validated blocks, resolved stage settings and the secrets. */
export interface TributaryConfig
  extends Omit<RawConfig, "stage" | "logRetentionDays" | "pointInTimeRecovery" | "eventArchiveRetentionDays" | "alarms"> {
  stack: string;
  stage: Stage;
  /** Stage defaults with the stack's overrides applied. */
  settings: StageSettings;
  alarms: { email?: string; topicArn?: string };
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
      `Invalid configuration for stack "${stack}":\n` +
        problems.map((p) => `  - ${p.key}: ${p.message}\n    fix: ${p.fix}`).join("\n"),
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
  return `pulumi config set ${flags ? flags + " " : ""}${quoted} <value> --stack ${stack}`;
}

/** The problems for a zod error, each keyed by its full config key. */
function problemsOf(stack: string, error: z.ZodError): ConfigProblem[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String);
    const key = `${PROJECT}:${path.join(".")}`;
    const nested = path.length > 1;
    return { key, message: issue.message, fix: setCommand(stack, key, { path: nested }) };
  });
}

/**
 * Reads every key the schema knows from a plain key → string map (what Pulumi hands the
 * program), parsing JSON values the way `Config.getObject` does.
 */
export function parseConfigValues(stack: string, values: Record<string, string | undefined>): RawConfig {
  const raw: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const name of Object.keys(configSchema.shape)) {
    const text = values[name];
    if (text === undefined) continue;
    try {
      raw[name] = JSON.parse(text);
    } catch {
      // A plain string value, as `pulumi config set stage dev` stores it.
      raw[name] = text;
    }
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) problems.push(...problemsOf(stack, parsed.error));
  const stage = parsed.data?.stage ?? (isStage(stack) ? stack : undefined);
  if (parsed.success && stage === undefined) {
    problems.push({
      key: `${PROJECT}:stage`,
      message: `stack "${stack}" is not dev, staging or prod, so its stage must be set`,
      fix: setCommand(stack, `${PROJECT}:stage`),
    });
  }
  if (parsed.success && parsed.data.lessons) {
    const { appId, clusterServiceId } = parsed.data.lessons.atlas;
    if ((appId === undefined) !== (clusterServiceId === undefined)) {
      const missing = appId === undefined ? "appId" : "clusterServiceId";
      const key = `${PROJECT}:lessons.atlas.${missing}`;
      problems.push({
        key,
        message: "appId and clusterServiceId are given together or not at all",
        fix: setCommand(stack, key, { path: true }),
      });
    }
  }
  if (problems.length > 0 || !parsed.success || stage === undefined) throw new ConfigError(stack, problems);
  return parsed.data;
}

/** Applies the stack's overrides to the stage defaults. */
export function resolveStageSettings(stage: Stage, raw: RawConfig): StageSettings {
  const defaults = STAGE_DEFAULTS[stage];
  return {
    logRetentionDays: (raw.logRetentionDays as StageSettings["logRetentionDays"] | undefined) ?? defaults.logRetentionDays,
    pointInTimeRecovery: raw.pointInTimeRecovery ?? defaults.pointInTimeRecovery,
    deletionProtection: defaults.deletionProtection,
    eventArchiveRetentionDays: raw.eventArchiveRetentionDays ?? defaults.eventArchiveRetentionDays,
    alarms: {
      ...defaults.alarms,
      lambdaErrorsThreshold: raw.alarms.lambdaErrorsThreshold ?? defaults.alarms.lambdaErrorsThreshold,
      deadLetterDepthThreshold: raw.alarms.deadLetterDepthThreshold ?? defaults.alarms.deadLetterDepthThreshold,
    },
  };
}

/** The secrets that the enabled apps of `raw` need. */
export function requiredSecrets(raw: RawConfig): SecretDeclaration[] {
  return SECRETS.filter((s) => raw[s.app] !== undefined && (s.when === undefined || s.when(raw)));
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
  const config = new pulumi.Config(PROJECT);
  const values: Record<string, string | undefined> = {};
  for (const name of Object.keys(configSchema.shape)) values[name] = config.get(name);
  const raw = parseConfigValues(stack, values);

  const secrets: Secrets = {};
  const missing: ConfigProblem[] = [];
  for (const declared of requiredSecrets(raw)) {
    const [namespace, name] = splitKey(declared.key);
    const bag = new pulumi.Config(namespace);
    if (declared.optional) {
      // Only the key's presence is looked at here; the value is read with getSecret.
      const isSet = Object.prototype.hasOwnProperty.call(pulumi.runtime.allConfig(), declared.key);
      if (isSet) secrets[declared.key] = bag.requireSecret(name);
      continue;
    }
    try {
      secrets[declared.key] = bag.requireSecret(name);
    } catch {
      const key = namespace === PROJECT ? name : declared.key;
      missing.push({
        key: declared.key,
        message: `missing secret (${declared.description}), needed by the ${declared.app} app`,
        fix: setCommand(stack, key, { secret: true }),
      });
    }
  }
  if (missing.length > 0) throw new ConfigError(stack, missing);

  const stage = raw.stage ?? (stack as Stage);
  const { logRetentionDays: _l, pointInTimeRecovery: _p, eventArchiveRetentionDays: _e, alarms, ...apps } = raw;
  return {
    ...apps,
    stack,
    stage,
    settings: resolveStageSettings(stage, raw),
    alarms: { email: alarms.email, topicArn: alarms.topicArn },
    secrets,
  };
}
