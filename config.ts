/**
 * The stack configuration: the stage defaults, the stack's schema (each app's block is its
 * own, in `apps/<app>/settings.ts`), and the loader that `index.ts` calls first. Every value
 * a component needs arrives through here.
 *
 * Keys live in the `tributary` namespace (`tributary:alma`, `tributary:logRetentionDays`).
 * App blocks are structured values in `Pulumi.<stack>.yaml`; an app whose block is absent
 * is not deployed. Secrets are separate top-level keys, read only with `requireSecret`,
 * and only for the apps that are enabled. How problems are worded is `config-problems.ts`'s.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

/**
 * Pulumi's own test of whether a config value arrived as a secret (encrypted in the stack
 * file, or an ESC secret). The SDK marks it internal, so its type is declared here.
 */
const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };
import { ALMA_IMPROVEMENTS, almaRules, almaSchema } from "./apps/alma/settings";
import { HDOC_IMPROVEMENTS, hdocRules, hdocSchema } from "./apps/hdoc/settings";
import { IOTA_IMPROVEMENTS, iotaRules, iotaSchema } from "./apps/iota/settings";
import { LESSONS_IMPROVEMENTS, lessonsRules, lessonsSchema } from "./apps/lessons/settings";
import { awsArn, httpsUrl } from "./apps/settings-schema";
import { SKILLS_IMPROVEMENTS, skillsRules, skillsSchema } from "./apps/skills/settings";
import type { AppRules } from "./config-problems";
import {
  ConfigError,
  type ConfigProblem,
  conflictProblem,
  dependencyProblem,
  PROJECT,
  problemsOf,
  secretSetCommand,
  setCommand,
  unknownKeyProblem,
} from "./config-problems";
import { type AlarmSettings, STAGES, type Stage } from "./components/platform";
import { ORIGINALS, type OriginalsApp, sourceOf } from "./components/originals";
import { DEFAULT_SECRETS_MAX_AGE_SECONDS } from "./handlers/lib/env-names";

export { ConfigError, type ConfigProblem, PROJECT, secretSetCommand } from "./config-problems";

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

/** The improvements each app offers (see components/adoption.ts), in the order docs/cutover.md lists them. */
export const APP_IMPROVEMENTS = {
  lessons: LESSONS_IMPROVEMENTS,
  skills: SKILLS_IMPROVEMENTS,
  iota: IOTA_IMPROVEMENTS,
  alma: ALMA_IMPROVEMENTS,
  hdoc: HDOC_IMPROVEMENTS,
} as const;

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

function isStage(name: string): name is Stage {
  return (STAGES as readonly string[]).includes(name);
}

/** The declared secret with this full key, or this name in the `tributary` namespace. */
function secretNamed(key: string): SecretDeclaration | undefined {
  return SECRETS.find((s) => s.key === key || s.key === `${PROJECT}:${key}`);
}

/** Keys of the `tributary` namespace that are secrets, not part of the schema. */
const PROJECT_SECRET_NAMES = (): string[] =>
  SECRETS.filter((s) => s.key.startsWith(`${PROJECT}:`)).map((s) => s.key.slice(PROJECT.length + 1));

/** Each app's rules beyond its schema, in the order their problems are listed. */
const APP_RULES: { [A in App]: AppRules<NonNullable<RawConfig[A]>> } = {
  lessons: lessonsRules,
  skills: skillsRules,
  iota: iotaRules,
  alma: almaRules,
  hdoc: hdocRules,
};

/** The rules of the app `app`, for a block of that app. */
function rulesOf(app: App): AppRules<any> {
  return APP_RULES[app];
}

/** Keys given together, or one needing the other, in every enabled app's block. */
function dependencyProblems(stack: string, raw: RawConfig): ConfigProblem[] {
  return APPS.flatMap((app) => (raw[app] ? (rulesOf(app).dependencies?.(raw[app]) ?? []) : [])).map((d) => dependencyProblem(stack, d));
}

/**
 * Keys that would change a setting of a resource the stack adopts. Each names the original's
 * value, and the improvement that makes the change deliberate when there is one. `given` is
 * the config as written, before defaults.
 */
function adoptionConflicts(stack: string, raw: RawConfig, given: Record<string, any>): ConfigProblem[] {
  return APPS.flatMap((app) => (raw[app] ? (rulesOf(app).conflicts?.(raw[app], given[app] ?? {}) ?? []) : [])).map((c) =>
    conflictProblem(stack, c),
  );
}

/** Whether an app's block adopts anything that runs today. */
export function adoptsOriginals(app: OriginalsApp, raw: RawConfig): boolean {
  return !!raw[app] && rulesOf(app).adopts(raw[app]);
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
      problems.push(unknownKeyProblem(stack, `${PROJECT}:${name}`, name, [...schemaKeys, ...secretNames], false, secretNamed));
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
  if (!parsed.success) return { problems: [...problems, ...problemsOf(stack, parsed.error, configSchema, secretNamed)] };
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
