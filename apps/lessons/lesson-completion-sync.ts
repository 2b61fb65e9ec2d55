import * as pulumi from "@pulumi/pulumi";
import { applies, type Hardening } from "../../components/adoption";
import { LESSONS_ENV, type TokenRequestFormat } from "../../handlers/lib/env-names";
import { AtlasEventBridgeTrigger } from "../../components/atlas/eventbridge-trigger";
import { MachineToMachineClient } from "../../components/auth0/m2m-client";
import { DeadLetterQueue, type DeadLetterQueueOutput } from "../../components/events/dead-letter-queue";
import { FunctionRule } from "../../components/events/function-rule";
import { asyncRetryWithin, type FunctionSizing, NodeFunction } from "../../components/lambda/node-function";
import type { RetryBounds } from "../../components/retry-bounds";
import { AppDashboard } from "../../components/monitoring/app-dashboard";
import type { Platform } from "../../components/platform";
import { secretsEnvironment } from "../../components/secrets/secure-parameter";
import triggerMatch from "./trigger-match.json";
import triggerProject from "./trigger-project.json";

/** The trigger's `$project`: only what the handler reads, so that events stay far below EventBridge's size cap. */
export const TRIGGER_PROJECT: Record<string, unknown> = triggerProject;
/** The trigger's `$match`: only updates that touched `completedChallenges` (an element or the whole array). */
export const TRIGGER_MATCH: Record<string, unknown> = triggerMatch;

/** Matches what the Atlas trigger sends: updates from any MongoDB partner source. */
export const LESSON_EVENT_PATTERN = {
  source: [{ prefix: "aws.partner/mongodb.com" }],
  detail: { operationType: ["update"] },
};

export interface LessonCompletionSyncArgs {
  /** The cluster whose user collection the trigger watches, and the App Services app that holds the trigger. */
  atlas: {
    /** Atlas project (group) id. */
    projectId: string;
    /** Name of the cluster that holds the watched collection. */
    clusterName: string;
    /** An existing App Services app and its linked cluster service. @default none: the app is created. */
    existingApp?: { appId: string; clusterServiceId: string };
    /** An existing trigger of that app, adopted with the partner bus named after it. @default none: the trigger is created. */
    triggerId?: string;
    /** Base URL of the App Services Admin API. */
    adminApiUrl: string;
    /** Database of the watched collection (`freecodecamp`). */
    database: string;
    /** The watched collection (`user`). */
    collection: string;
  };
  /** The Atlas programmatic API key pair (config secrets). */
  atlasApiKey: { publicKey: pulumi.Input<string>; privateKey: pulumi.Input<string> };
  /** Name of the App Services app when this stack creates it. */
  appName: string;
  /** The Auth0 machine-to-machine client the function gets its tokens with. */
  auth0: {
    /** The OAuth2 token endpoint. */
    tokenUrl: string;
    /** The Learning Paths API's audience, which the token is asked for. */
    audience: string;
    /** How the function encodes its token request: `json`, as the original did, or `form`. */
    tokenRequestFormat: TokenRequestFormat;
    /** Scopes the client is granted. @default none: an adopted grant keeps its own scopes. */
    scopes?: string[];
    /**
     * The client and grant the original handler uses, adopted in place: they keep their
     * settings, and the grant its scopes unless `scopes` is given.
     * @default none: the stack creates the client and its grant.
     */
    existing?: { clientId: string; grantId: string };
  };
  /** The endpoint that marks a lesson complete (PUT). */
  learningPathsApiEndpoint: string;
  /** Lessons of one update sent at once. */
  sending: { concurrency: number };
  /** The function's memory, timeout, reserved concurrency and tracing. */
  function: FunctionSizing;
  /** Retry bounds of the rule's target before its DLQ keeps an event. */
  delivery: RetryBounds;
  /** Days the partner bus's archive keeps events for replay. */
  eventArchiveRetentionDays: number;
  /**
   * The cutover switch: the rule is disabled, so that no event reaches the function while
   * the old handler still runs; the bus's archive keeps them for a replay.
   */
  paused: boolean;
  /** The app's improvements over the original set-up (see components/adoption.ts). */
  hardening: Hardening;
  /** The stage's settings: region, log retention, alarms, protection (components/platform.ts). */
  platform: Platform;
}

/**
 * lessons: an Atlas trigger on `freecodecamp.user` sends each update that completed a lesson
 * through a partner event bus to `lesson-completed`, which marks the lesson complete in the
 * Learning Paths API with an Auth0 machine-to-machine token.
 */
export class LessonCompletionSync extends pulumi.ComponentResource {
  readonly trigger: AtlasEventBridgeTrigger;
  readonly auth0Client: MachineToMachineClient;
  readonly failedEvents: DeadLetterQueue;
  readonly function: NodeFunction;
  readonly rule: FunctionRule;
  readonly dashboard: AppDashboard;
  /** The stack outputs of the app. */
  readonly outputs: Record<string, pulumi.Input<unknown>>;
  /** The app's dead-letter queue, for the stack's `deadLetterQueues` output (the replay command). */
  readonly deadLetterQueues: DeadLetterQueueOutput[];

  constructor(name: string, args: LessonCompletionSyncArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:lessons:LessonCompletionSync", name, {}, opts);
    this.trigger = this.createTrigger(name, args);
    this.auth0Client = this.createAuth0Client(name, args);
    this.failedEvents = this.createFailedEvents(name, args);
    this.function = this.createFunction(name, args);
    this.rule = this.createRule(name, args);
    this.dashboard = this.createDashboard(name, args);
    // The function's resumable records name no function: they go back to this one.
    this.deadLetterQueues = [this.failedEvents.forReplay("lessons", { functionName: this.function.functionName })];

    this.outputs = {
      triggerId: this.trigger.triggerId,
      eventBusName: this.trigger.eventBusName,
      functionName: this.function.functionName,
      auth0ClientId: this.auth0Client.clientId,
      failedEventsQueueUrl: this.failedEvents.url,
      // For a replay from the archive into the rule (docs/cutover.md, lessons).
      eventBusArn: this.trigger.eventBus.arn,
      eventArchiveArn: this.trigger.archive.arn,
      ruleArn: this.rule.rule.arn,
      dashboard: this.dashboard.outputs,
    };
    this.registerOutputs(this.outputs);
  }

  /** The Atlas trigger on the user collection, with the partner event bus it sends to and that bus's archive. */
  private createTrigger(name: string, args: LessonCompletionSyncArgs): AtlasEventBridgeTrigger {
    const { atlas } = args;
    return new AtlasEventBridgeTrigger(
      `${name}-trigger`,
      {
        projectId: atlas.projectId,
        clusterName: atlas.clusterName,
        existingApp: atlas.existingApp,
        appName: args.appName,
        adminApiUrl: atlas.adminApiUrl,
        apiKey: args.atlasApiKey,
        triggerName: "lesson-completed",
        database: atlas.database,
        collection: atlas.collection,
        operationTypes: ["UPDATE"],
        fullDocument: true,
        match: applies(args.hardening, "triggerMatch", atlas.triggerId !== undefined) ? TRIGGER_MATCH : undefined,
        project: TRIGGER_PROJECT,
        archiveRetentionDays: args.eventArchiveRetentionDays,
        protection: args.platform.protection,
        existingTriggerId: atlas.triggerId,
      },
      { parent: this },
    );
  }

  /** The Auth0 machine-to-machine client the function gets its tokens with, its secret in SSM. */
  private createAuth0Client(name: string, args: LessonCompletionSyncArgs): MachineToMachineClient {
    return new MachineToMachineClient(
      `${name}-auth0`,
      {
        audience: args.auth0.audience,
        scopes: args.auth0.scopes,
        existing: args.auth0.existing,
        description: "tributary lesson-completed: marks freeCodeCamp lessons complete in the Learning Paths API",
      },
      { parent: this },
    );
  }

  /**
   * One queue keeps the events EventBridge and Lambda gave up on, and the resumable records
   * (lessons not sent yet, lessons refused) that the function writes itself.
   */
  private createFailedEvents(name: string, args: LessonCompletionSyncArgs): DeadLetterQueue {
    return new DeadLetterQueue(
      `${name}-failed-events`,
      { platform: args.platform, description: "lesson updates that could not be synced", hardening: args.hardening, policyByRule: true },
      { parent: this },
    );
  }

  /** `lesson-completed`, which marks each completed lesson in the Learning Paths API. */
  private createFunction(name: string, args: LessonCompletionSyncArgs): NodeFunction {
    return new NodeFunction(
      `${name}-lesson-completed`,
      {
        handler: "lesson-completed",
        description: "Marks completed freeCodeCamp lessons in the Learning Paths API",
        ...args.function,
        platform: args.platform,
        // EventBridge invokes asynchronously: its target DLQ covers delivery failures, and
        // Lambda's own retries and on-failure destination cover the function's errors.
        asyncInvocation: asyncRetryWithin(args.delivery, this.failedEvents),
        environment: {
          [LESSONS_ENV.auth0Url]: args.auth0.tokenUrl,
          [LESSONS_ENV.auth0Audience]: args.auth0.audience,
          [LESSONS_ENV.auth0ClientId]: this.auth0Client.clientId,
          [LESSONS_ENV.auth0TokenRequestFormat]: args.auth0.tokenRequestFormat,
          ...secretsEnvironment({ [LESSONS_ENV.auth0ClientSecret]: this.auth0Client.secret }, args.platform),
          [LESSONS_ENV.learningPathsApiEndpoint]: args.learningPathsApiEndpoint,
          [LESSONS_ENV.failedEventsQueueUrl]: this.failedEvents.url,
          [LESSONS_ENV.concurrency]: String(args.sending.concurrency),
        },
        // Sending to the failed-events queue is granted with the async failure queue.
        statements: [this.auth0Client.secret.readStatement],
        readsSecrets: true,
      },
      { parent: this },
    );
  }

  /** The partner bus's rule that sends the trigger's updates to the function (disabled while `paused`). */
  private createRule(name: string, args: LessonCompletionSyncArgs): FunctionRule {
    return new FunctionRule(
      `${name}-rule`,
      {
        eventBusName: this.trigger.eventBusName,
        eventPattern: LESSON_EVENT_PATTERN,
        function: { arn: this.function.arn, name: this.function.functionName },
        retry: args.delivery,
        description: "Updates of freecodecamp.user that completed lessons",
        deadLetterQueue: this.failedEvents,
        enabled: !args.paused,
      },
      { parent: this },
    );
  }

  /** The app's dashboard: the function and the failed-events queue. */
  private createDashboard(name: string, args: LessonCompletionSyncArgs): AppDashboard {
    return new AppDashboard(
      `${name}-dashboard`,
      {
        app: "lessons",
        functions: [this.function.monitoring],
        queues: [this.failedEvents.monitoring],
        apis: [],
        alarming: args.platform.alarming,
      },
      { parent: this },
    );
  }
}
