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

/** Where alarms notify, with the stage's thresholds. */
export interface Alarming {
  /** The stage's thresholds and periods. */
  settings: AlarmSettings;
  /** SNS topic ARNs notified when an alarm fires and when it recovers. */
  actions: pulumi.Input<string>[];
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
  /** Retention of every log group the stack creates, in days. */
  logRetentionDays: number;
  /** The errors alarm of every function and the depth alarm of every dead-letter queue. */
  alarming: Alarming;
  /** Protection of tables, queues, topics, buckets, repositories, user pools and buses. */
  protection: Protection;
  /**
   * How long a function uses a secret it read from SSM before reading it again, in seconds
   * (config's `secretsMaxAgeSeconds`); absent, the handlers' default (300).
   */
  secretsMaxAgeSeconds?: number;
}
