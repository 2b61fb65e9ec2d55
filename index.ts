/**
 * The tributary program: reads the stack's config, creates the enabled apps and exports
 * their outputs. Each app's block goes to its component as it is, or through the mapping
 * beside its schema (apps/<app>/settings.ts); here it meets the platform and the secrets.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AlmaCache } from "./apps/alma/alma-cache";
import { HdocBackend } from "./apps/hdoc/hdoc-backend";
import { hdocBackendArgs } from "./apps/hdoc/settings";
import { IotaEventBus } from "./apps/iota/iota-event-bus";
import { IotaService } from "./apps/iota/iota-service";
import { LessonCompletionSync } from "./apps/lessons/lesson-completion-sync";
import { lessonCompletionSyncArgs } from "./apps/lessons/settings";
import { RUNBOOK_PATH } from "./components/monitoring/alarms";
import { AlertTopic } from "./components/monitoring/alert-topic";
import { AppDashboard } from "./components/monitoring/app-dashboard";
import type { Platform } from "./components/platform";
import { SkillAppSync } from "./apps/skills/skill-app-sync";
import { loadConfig, PROJECT, secretOf } from "./config";

const config = loadConfig();
const { settings } = config;

/**
 * An app whose original runs in another region than the stack's (hdoc, lessons and skills
 * run in us-east-1) gets a provider there, with the stack's account guard and default tags.
 */
const awsConfig = new pulumi.Config("aws");
const regionalProviders = new Map<string, aws.Provider>();
function providerIn(region: string | undefined): aws.Provider | undefined {
  if (region === undefined || region === awsConfig.get("region")) return undefined;
  let provider = regionalProviders.get(region);
  if (!provider) {
    provider = new aws.Provider(`aws-${region}`, {
      region: region as aws.Region,
      allowedAccountIds: awsConfig.getObject<string[]>("allowedAccountIds"),
      defaultTags: awsConfig.getObject<aws.types.input.ProviderDefaultTags>("defaultTags"),
    });
    regionalProviders.set(region, provider);
  }
  return provider;
}
const inRegion = (region: string | undefined): pulumi.ComponentResourceOptions => {
  const provider = providerIn(region);
  return provider ? { providers: { aws: provider } } : {};
};

/**
 * The stack's alert topics, one per region that has alarms: CloudWatch notifies only a topic
 * in the alarm's own region. `alerts` is the stack region's (or the existing topic, in its
 * region); another region's is `alerts-<region>`, with the same e-mail subscription.
 */
const stackRegion = awsConfig.get("region") ?? "";
const alertTopics = new Map<string, AlertTopic>();
function alertTopicIn(region: string | undefined): AlertTopic {
  const key = region ?? stackRegion;
  let topic = alertTopics.get(key);
  if (!topic) {
    const existingTopicArn = config.alarms.topicArn?.split(":")[3] === key ? config.alarms.topicArn : undefined;
    topic = new AlertTopic(
      key === stackRegion ? "alerts" : `alerts-${key}`,
      { email: config.alarms.email, existingTopicArn },
      inRegion(region),
    );
    alertTopics.set(key, topic);
  }
  return topic;
}
const alerts = alertTopicIn(undefined);

/** What every component of an app takes: the stage's settings, with alarms notifying the alert topic of the app's region. */
function platformIn(region: string | undefined): Platform {
  return {
    region: region ?? stackRegion,
    logRetentionDays: settings.logRetentionDays,
    alarming: {
      settings: settings.alarms,
      actions: [alertTopicIn(region).arn],
      stack: config.stack,
      namePrefix: `${PROJECT}-${config.stack}`,
      runbookUrl: config.alarms.runbookUrl ?? RUNBOOK_PATH,
    },
    protection: {
      pointInTimeRecovery: settings.pointInTimeRecovery,
      deletionProtection: settings.deletionProtection,
      retainOnDelete: settings.retainOnDelete,
    },
    secretsMaxAgeSeconds: config.secretsMaxAgeSeconds,
  };
}

const lessons =
  config.lessons &&
  new LessonCompletionSync(
    "lessons",
    lessonCompletionSyncArgs(config.lessons, {
      stack: config.stack,
      atlasApiKey: { publicKey: secretOf(config, "mongodbatlas:publicKey"), privateKey: secretOf(config, "mongodbatlas:privateKey") },
      eventArchiveRetentionDays: settings.eventArchiveRetentionDays,
      platform: platformIn(config.lessons.region),
    }),
    inRegion(config.lessons.region),
  );

const alma =
  config.alma &&
  new AlmaCache(
    "alma",
    { ...config.alma, webhookSecret: secretOf(config, "tributary:almaWebhookSecret"), platform: platformIn(config.alma.region) },
    inRegion(config.alma.region),
  );

const hdoc =
  config.hdoc &&
  new HdocBackend(
    "hdoc",
    hdocBackendArgs(config.hdoc, {
      // CloudFront reads certificates in us-east-1 only.
      certificateProvider:
        config.hdoc.frontend.domain && (config.hdoc.region ?? awsConfig.get("region")) !== "us-east-1"
          ? providerIn("us-east-1")
          : undefined,
      platform: platformIn(config.hdoc.region),
    }),
    inRegion(config.hdoc.region),
  );

const skills =
  config.skills &&
  new SkillAppSync(
    "skills",
    {
      ...config.skills,
      secrets: {
        BRN_DATABASE_URL: secretOf(config, "tributary:brnDatabaseUrl"),
        AIRTABLE_TOKEN: secretOf(config, "tributary:airtableToken"),
        BADGR_USERNAME: secretOf(config, "tributary:badgrUsername"),
        BADGR_PASSWORD: secretOf(config, "tributary:badgrPassword"),
        BADGR_CLIENT_ID: secretOf(config, "tributary:badgrClientId"),
        GITHUB_TOKEN: config.secrets["tributary:githubToken"],
      },
      platform: platformIn(config.skills.region),
    },
    inRegion(config.skills.region),
  );

// The iota services share one bus: the configured one, adopted, or a new one.
const iotaConfig = config.iota;
const iotaBus =
  iotaConfig &&
  new IotaEventBus(
    "iota-bus",
    { existingName: iotaConfig.eventBusName, protection: platformIn(iotaConfig.region).protection },
    inRegion(iotaConfig.region),
  );
const iotaServices = (iotaConfig?.services ?? []).map(
  (service) =>
    new IotaService(
      `iota-${service.handler.replace(/^iota-/, "")}`,
      {
        ...service,
        mongoDatabase: iotaConfig!.mongoDatabase,
        journalRetentionDays: iotaConfig!.journalRetentionDays,
        hardening: iotaConfig!.hardening,
        eventBus: iotaBus!,
        mongoUri: secretOf(config, "tributary:iotaMongoUri"),
        platform: platformIn(iotaConfig!.region),
      },
      inRegion(iotaConfig!.region),
    ),
);

// The iota app is its bus and services, made here: so is its dashboard.
const iotaDashboard =
  iotaBus &&
  new AppDashboard(
    "iota-dashboard",
    {
      app: "iota",
      functions: iotaServices.map((service) => service.function.monitoring),
      queues: iotaServices.map((service) => service.failedEvents.monitoring),
      apis: [],
      alarming: platformIn(iotaConfig!.region).alarming,
    },
    inRegion(iotaConfig!.region),
  );

export const stage = config.stage;
export const alertTopicArn = alerts.arn;
/** Every alert topic of the stack, by region. */
export const alertTopicArns = Object.fromEntries([...alertTopics].map(([region, topic]) => [region, topic.arn]));
export const lessonsSync = lessons?.outputs;
export const almaCache = alma?.outputs;
export const hdocBackend = hdoc?.outputs;
export const skillAppSync = skills?.outputs;
/**
 * Every dead-letter queue of the stack, with what a replay needs (where each message goes
 * back to): what `npm run dlq` reads (scripts/dlq.ts).
 */
export const deadLetterQueues = [
  ...(lessons?.deadLetterQueues ?? []),
  ...(alma?.deadLetterQueues ?? []),
  ...(skills?.deadLetterQueues ?? []),
  ...iotaServices.flatMap((service) => service.deadLetterQueues),
];
export const iota = iotaBus && {
  eventBusName: iotaBus.name,
  functions: Object.fromEntries(iotaServices.map((service) => [service.serviceId, service.function.functionName])),
  dashboard: iotaDashboard!.outputs,
};
