/**
 * What every component of a stack shares: the stage's log retention, alarm thresholds and
 * protection of stateful resources. index.ts makes one `Platform` per stack from the
 * config and passes it to each app, which passes it on to its parts.
 *
 * Dependency-free on purpose: the config schema and the policy pack read it too.
 */
import type * as pulumi from "@pulumi/pulumi";

/** The stages a stack can be; each has its defaults in config.ts (STAGE_DEFAULTS). */
export const STAGES = ["dev", "staging", "prod"] as const;
export type Stage = (typeof STAGES)[number];

/** Alarm thresholds shared by every function, queue and API of a stage. */
export interface AlarmSettings {
  /** Lambda `Errors` sum over one period at or above which the errors alarm fires. */
  lambdaErrorsThreshold: number;
  /** Visible messages in a dead-letter queue at or above which its alarm fires. */
  deadLetterDepthThreshold: number;
  /**
   * Visible messages in a work queue (one a function or a neighbour consumes) at or above
   * which its backlog alarm fires, when they stay there for QUEUE_BACKLOG_WINDOW (components/monitoring/alarms.ts).
   */
  queueBacklogThreshold: number;
  /** HTTP API `5xx` sum over one period at or above which the API's alarm fires. */
  apiServerErrorsThreshold: number;
  /** Length of one alarm period, in seconds. */
  periodSeconds: number;
  /** How many consecutive breaching periods fire the alarm. */
  evaluationPeriods: number;
}

/** Where alarms notify, with the stage's thresholds, and how alarms and dashboards are named. */
export interface Alarming {
  /** The stage's thresholds and periods. */
  settings: AlarmSettings;
  /** SNS topic ARNs notified when an alarm fires and when it recovers. */
  actions: pulumi.Input<string>[];
  /** The stack's name: the commands that alarm names and the runbook give name it. */
  stack: string;
  /** Starts every alarm's and dashboard's name (`tributary-<stack>`), so that stacks sharing an account stay apart. */
  namePrefix: string;
  /** Where docs/runbook.md is read: its path in the repository, or its URL. Alarm descriptions link its entries. */
  runbookUrl: string;
}

/** The stage's protection of stateful resources. */
export interface Protection {
  /** Deletion protection where AWS offers it, and Pulumi's `protect`; off means buckets and repositories may be force-deleted. */
  deletionProtection: boolean;
  /** Point-in-time recovery on tables. */
  pointInTimeRecovery: boolean;
  /** Keep what the stack created in the cloud when Pulumi deletes or replaces it. */
  retainOnDelete: boolean;
}

/** The settings every component takes as one argument. */
export interface Platform {
  /** The region the app's resources are created in (its provider's): regional AWS-managed resources, such as a layer's ARN, are picked by it. */
  region: string;
  /** Retention of every log group the stack creates, in days. */
  logRetentionDays: number;
  /** The alarms of every function, queue and API, and the apps' dashboards. */
  alarming: Alarming;
  /** Protection of tables, queues, topics, buckets, repositories, user pools and buses. */
  protection: Protection;
  /**
   * How long a function uses a secret it read from SSM before reading it again, in seconds
   * (config's `secretsMaxAgeSeconds`); absent, the handlers' default (300).
   */
  secretsMaxAgeSeconds?: number;
}
