/**
 * Names of the environment variables that components set and handlers read. This module is
 * the only thing the infrastructure (components/) and the runtime (handlers/) share, so a
 * renamed variable breaks the type check instead of a deployed function.
 */
export const COMMON_ENV = {
  /** Service name in every structured log line (Powertools Logger). */
  serviceName: "POWERTOOLS_SERVICE_NAME",
  /** Minimum log level (Powertools Logger). */
  logLevel: "POWERTOOLS_LOG_LEVEL",
  /** Stage the function runs in: dev, staging or prod. */
  stage: "TRIBUTARY_STAGE",
  /**
   * How long a secret read from SSM is used before it is read again, in seconds (config's
   * `secretsMaxAgeSeconds`; default 300). A secret that fails is read again at once.
   */
  secretsMaxAgeSeconds: "TRIBUTARY_SECRETS_MAX_AGE_SECONDS",
} as const;

/** How long a secret read is used when TRIBUTARY_SECRETS_MAX_AGE_SECONDS is not set, in seconds. */
export const DEFAULT_SECRETS_MAX_AGE_SECONDS = 300;

/**
 * The AWS Parameters and Secrets Lambda Extension, which zip functions read their secrets
 * through (handlers/lib/secrets.ts): its documented settings.
 */
export const SECRETS_EXTENSION_ENV = {
  /** The port it listens on, on localhost (default 2773). Local runs point it at the SSM stand-in. */
  httpPort: "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
  /** TRUE or FALSE: whether it caches what it read. Off: the function keeps its own cache (see secrets.ts). */
  cacheEnabled: "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED",
} as const;

/** Deployed functions get `<SECRET>_PARAM` (an SSM parameter name); local runs may set `<SECRET>` itself. */
export function secretParamEnv(secret: string): string {
  return `${secret}_PARAM`;
}

/** lesson-completed's variables (docs/apps/lessons.md), plus the secret's parameter. */
export const LESSONS_ENV = {
  /** OAuth2 token endpoint of the Auth0 tenant. */
  auth0Url: "AUTH0_URL",
  auth0Audience: "AUTH0_AUDIENCE",
  auth0ClientId: "AUTH0_CLIENT_ID",
  /** The client secret: `AUTH0_CLIENT_SECRET_PARAM` when deployed, `AUTH0_CLIENT_SECRET` locally. */
  auth0ClientSecret: "AUTH0_CLIENT_SECRET",
  /** How the token request's body is encoded: `json` (default) or `form`. */
  auth0TokenRequestFormat: "AUTH0_TOKEN_REQUEST_FORMAT",
  learningPathsApiEndpoint: "LEARNING_PATHS_API_ENDPOINT",
  /** Queue that keeps resumable records: the lessons not yet sent, and those the API refused (the rule target's DLQ). */
  failedEventsQueueUrl: "FAILED_EVENTS_QUEUE_URL",
  /** Lessons of one event sent at once (default 1: in order). */
  concurrency: "LESSONS_CONCURRENCY",
} as const;

/** The values of `AUTH0_TOKEN_REQUEST_FORMAT` (`lessons.auth0.tokenRequestFormat`). */
export const TOKEN_REQUEST_FORMATS = ["json", "form"] as const;
export type TokenRequestFormat = (typeof TOKEN_REQUEST_FORMATS)[number];

/** The Alma webhook events, one SNS topic each. */
export const ALMA_EVENTS = [
  "LOAN_CREATED",
  "LOAN_RENEWED",
  "LOAN_DUE_DATE",
  "LOAN_RETURNED",
  "REQUEST_CREATED",
  "REQUEST_PLACED_ON_SHELF",
  "REQUEST_CLOSED",
  "REQUEST_CANCELED",
] as const;
export type AlmaEvent = (typeof ALMA_EVENTS)[number];

/** alma: the cache functions and the webhook. */
export const ALMA_ENV = {
  usersTable: "USERS_TABLE_NAME",
  loansTable: "LOANS_TABLE_NAME",
  requestsTable: "REQUESTS_TABLE_NAME",
  usersQueueUrl: "USERS_QUEUE_URL",
  /** Returned loans and closed requests, kept two weeks so that an older event cannot bring them back. */
  tombstonesTable: "TOMBSTONES_TABLE_NAME",
  /** The webhook's signing key: `ALMA_WEBHOOK_SECRET_PARAM` when deployed, `ALMA_WEBHOOK_SECRET` locally. */
  webhookSecret: "ALMA_WEBHOOK_SECRET",
  /**
   * Hours after a rotation during which the previous signing key is still accepted
   * (`alma.webhookSecretRotationWindowHours`; default 24, 0 accepts only the current key).
   */
  webhookSecretRotationWindowHours: "ALMA_WEBHOOK_SECRET_ROTATION_WINDOW_HOURS",
} as const;

/** The webhook's rotation window when ALMA_WEBHOOK_SECRET_ROTATION_WINDOW_HOURS is not set, in hours. */
export const DEFAULT_WEBHOOK_SECRET_ROTATION_WINDOW_HOURS = 24;

/** `TOPIC_ARN_LOAN_CREATED`: where the webhook publishes each event. */
export function topicArnEnv(event: AlmaEvent): string {
  return `TOPIC_ARN_${event}`;
}

/** hdoc: the two API functions. */
export const HDOC_ENV = {
  usersTable: "USERS_TABLE_NAME",
  /** The attributes of a user the routes return: JSON, `{"only":[...]}` or `{"except":[...]}` (config's `hdoc.api.publicAttributes`). */
  publicAttributes: "PUBLIC_ATTRIBUTES",
} as const;

/** The response headers of `GET /users` that carry the next page; the API exposes them to browsers (CORS). */
export const HDOC_PAGING_HEADERS = { link: "Link", nextCursor: "X-Next-Cursor" } as const;

/** skill-sync: its bucket, the upstream APIs and their bounds, and the names of its secrets. */
export const SKILLS_ENV = {
  templatesBucket: "TEMPLATES_BUCKET",
  templatesMaxBytes: "TEMPLATES_MAX_BYTES",
  templatesMaxEntries: "TEMPLATES_MAX_ENTRIES",
  airtableApiUrl: "AIRTABLE_API_URL",
  airtableBaseId: "AIRTABLE_BASE_ID",
  airtableTable: "AIRTABLE_TABLE",
  airtableMaxPages: "AIRTABLE_MAX_PAGES",
  badgrBaseUrl: "BADGR_BASE_URL",
  badgrIssuerId: "BADGR_ISSUER_ID",
  badgrScope: "BADGR_SCOPE",
  badgrGrantType: "BADGR_GRANT_TYPE",
  badgrMaxPages: "BADGR_MAX_PAGES",
  githubApiUrl: "GITHUB_API_URL",
  githubOrg: "GITHUB_ORG",
} as const;

/**
 * Where skill-sync writes in the templates bucket: the files under the prefix the GitHub bot
 * lists, and the record of each synced release beside it, outside that prefix.
 */
export const SKILLS_BUCKET_PREFIXES = { templates: "templates/", syncedReleases: "synced-releases/" } as const;

/** skill-sync's secrets: `<NAME>_PARAM` when deployed, `<NAME>` locally. `BRN_DATABASE_URL` is `mysql://user:password@host:3306/database`. */
export const SKILLS_SECRETS = [
  "BRN_DATABASE_URL",
  "AIRTABLE_TOKEN",
  "BADGR_USERNAME",
  "BADGR_PASSWORD",
  "BADGR_CLIENT_ID",
  "GITHUB_TOKEN",
] as const;
export type SkillsSecret = (typeof SKILLS_SECRETS)[number];

/** The EventBridge `detail-type` of every CloudEvent on an iota bus (with-iota's). */
export const CLOUDEVENT_DETAIL_TYPE = "application/cloudevents+json";

/** iota: the names with-iota used, kept for compatibility, and one of ours (the journal's retention). */
export const IOTA_ENV = {
  /** The MongoDB URI: `MILL_IOTA_MONGO_URI_PARAM` (an SSM parameter) when deployed, `MILL_IOTA_MONGO_URI` locally. */
  mongoUri: "MILL_IOTA_MONGO_URI",
  mongoDb: "MILL_IOTA_MONGO_DB",
  serviceId: "MILL_IOTA_SERVICE_ID",
  journalName: "MILL_IOTA_JOURNAL_NAME",
  eventBusName: "MILL_IOTA_EVENTBUS_NAME",
  /** Days a committed journal entry is kept before MongoDB's TTL index removes it (ours; default and least 15). */
  journalRetentionDays: "MILL_IOTA_JOURNAL_RETENTION_DAYS",
} as const;
