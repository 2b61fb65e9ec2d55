/**
 * The tributary program: reads the stack's config, creates the enabled apps and exports
 * their outputs. Nothing else happens here.
 */
import { AlmaCache } from "./components/alma/alma-cache";
import { IotaEventBus } from "./components/iota/iota-event-bus";
import { IotaService } from "./components/iota/iota-service";
import { HdocBackend } from "./components/hdoc/hdoc-backend";
import { SkillAppSync } from "./components/skills/skill-app-sync";
import { LessonCompletionSync } from "./components/lessons/lesson-completion-sync";
import { AlertTopic } from "./components/monitoring/alert-topic";
import { loadConfig, secretOf } from "./config";

const config = loadConfig();

const alerts = new AlertTopic("alerts", { email: config.alarms.email, existingTopicArn: config.alarms.topicArn });
const alarming = { settings: config.settings.alarms, actions: [alerts.arn] };
const protection = {
  pointInTimeRecovery: config.settings.pointInTimeRecovery,
  deletionProtection: config.settings.deletionProtection,
  retainOnDelete: config.settings.retainOnDelete,
};

const lessons =
  config.lessons &&
  new LessonCompletionSync("lessons", {
    atlas: config.lessons.atlas,
    atlasApiKey: {
      publicKey: secretOf(config, "mongodbatlas:publicKey"),
      privateKey: secretOf(config, "mongodbatlas:privateKey"),
    },
    appName: `tributary-lessons-${config.stack}`,
    auth0: config.lessons.auth0,
    learningPathsApiEndpoint: config.lessons.learningPathsApiEndpoint,
    sending: { concurrency: config.lessons.concurrency, maxLessonsPerEvent: config.lessons.maxLessonsPerEvent },
    function: config.lessons.function,
    delivery: config.lessons.delivery,
    logRetentionDays: config.settings.logRetentionDays,
    eventArchiveRetentionDays: config.settings.eventArchiveRetentionDays,
    protection,
    alarming,
  });

const alma =
  config.alma &&
  new AlmaCache("alma", {
    topicArns: config.alma.topicArns,
    tableNames: config.alma.tableNames,
    usersQueueUrl: config.alma.usersQueueUrl,
    usersDeadLetterQueueUrl: config.alma.usersDeadLetterQueueUrl,
    usersQueueConsumerTimeoutSeconds: config.alma.usersQueueConsumerTimeoutSeconds,
    function: config.alma.function,
    delivery: config.alma.delivery,
    webhookSecret: secretOf(config, "tributary:almaWebhookSecret"),
    protection,
    logRetentionDays: config.settings.logRetentionDays,
    alarming,
  });

const hdoc =
  config.hdoc &&
  new HdocBackend("hdoc", {
    usersTableName: config.hdoc.usersTableName,
    auth: config.hdoc.auth,
    api: config.hdoc.api,
    frontend: config.hdoc.frontend,
    function: config.hdoc.function,
    protection,
    logRetentionDays: config.settings.logRetentionDays,
    alarming,
  });

const skills =
  config.skills &&
  new SkillAppSync("skills", {
    airtable: config.skills.airtable,
    badgr: config.skills.badgr,
    github: config.skills.github,
    templates: config.skills.templates,
    vpc: config.skills.vpc,
    schedule: config.skills.schedule,
    keepImages: config.skills.keepImages,
    repositoryName: config.skills.repositoryName,
    templatesBucketName: config.skills.templates.bucketName,
    function: config.skills.function,
    delivery: config.skills.delivery,
    secrets: {
      BRN_DATABASE_URL: secretOf(config, "tributary:brnDatabaseUrl"),
      AIRTABLE_TOKEN: secretOf(config, "tributary:airtableToken"),
      BADGR_USERNAME: secretOf(config, "tributary:badgrUsername"),
      BADGR_PASSWORD: secretOf(config, "tributary:badgrPassword"),
      BADGR_CLIENT_ID: secretOf(config, "tributary:badgrClientId"),
      GITHUB_TOKEN: config.secrets["tributary:githubToken"],
    },
    protection,
    logRetentionDays: config.settings.logRetentionDays,
    alarming,
  });

// The iota services share one bus: the configured one, adopted, or a new one.
const iotaBus = config.iota && new IotaEventBus("iota-bus", { existingName: config.iota.eventBusName, protection });
const iotaServices: IotaService[] = [];
for (const service of config.iota?.services ?? []) {
  iotaServices.push(
    new IotaService(`iota-${service.handler.replace(/^iota-/, "")}`, {
      serviceId: service.id,
      handler: service.handler,
      consumes: service.consumes,
      eventBus: iotaBus!,
      mongoDatabase: config.iota!.mongoDatabase,
      journalRetentionDays: config.iota!.journalRetentionDays,
      mongoUri: secretOf(config, "tributary:iotaMongoUri"),
      function: service.function,
      delivery: service.delivery,
      logRetentionDays: config.settings.logRetentionDays,
      alarming,
      protection,
    }),
  );
}

export const stage = config.stage;
export const alertTopicArn = alerts.arn;
export const lessonsSync = lessons && {
  triggerId: lessons.trigger.triggerId,
  eventBusName: lessons.trigger.eventBusName,
  functionName: lessons.function.functionName,
  auth0ClientId: lessons.auth0Client.clientId,
  failedEventsQueueUrl: lessons.failedEvents.url,
};
export const almaCache = alma && {
  tables: Object.fromEntries(Object.entries(alma.tables).map(([key, table]) => [key, { name: table.name, arn: table.arn }])),
  usersQueue: { url: alma.usersQueue.url, arn: alma.usersQueue.arn },
  topicArns: alma.topicArns,
  webhookUrl: alma.webhook?.url,
};
export const hdocBackend = hdoc && {
  apiUrl: hdoc.api.url,
  userPoolId: hdoc.auth.userPool.id,
  clientId: hdoc.auth.client.id,
  domain: hdoc.auth.domain.domain,
  bucketName: hdoc.frontend.bucket.bucket,
  distributionDomain: hdoc.frontend.distribution.domainName,
};
export const skillAppSync = skills && {
  functionName: skills.function.functionName,
  templatesBucket: skills.templatesBucket.bucket,
  templatesReadPolicyArn: skills.templatesReadPolicy.arn,
  repositoryUrl: skills.repository.repositoryUrl,
  imageUri: skills.image.imageUri,
  scheduleState: skills.schedule.state,
};
export const iota = config.iota && {
  eventBusName: iotaBus!.name,
  functions: Object.fromEntries(config.iota.services.map((service, i) => [service.id, iotaServices[i].function.functionName])),
};
