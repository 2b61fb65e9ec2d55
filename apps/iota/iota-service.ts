import * as pulumi from "@pulumi/pulumi";
import { CLOUDEVENT_DETAIL_TYPE, IOTA_ENV } from "../../handlers/lib/env-names";
import { DeadLetterQueue, type DeadLetterQueueOutput } from "../../components/events/dead-letter-queue";
import { FunctionRule } from "../../components/events/function-rule";
import { asyncRetryWithin, NodeFunction } from "../../components/lambda/node-function";
import type { Platform } from "../../components/platform";
import { secretsEnvironment, secureParameter } from "../../components/secrets/secure-parameter";
import { functionSizing } from "../settings-schema";
import type { IotaServiceSettings, IotaSettings } from "./settings";

/**
 * One entry of the app's `services` (apps/iota/settings.ts, where each setting is documented),
 * with the app's settings every service shares, its bus, the MongoDB URI and the stage's platform.
 */
export interface IotaServiceArgs extends IotaServiceSettings, Pick<IotaSettings, "mongoDatabase" | "journalRetentionDays" | "hardening"> {
  /** The bus to listen on and emit to (see IotaEventBus). */
  eventBus: { name: pulumi.Input<string>; arn: pulumi.Input<string> };
  /** The MongoDB connection string (a config secret), kept in SSM. */
  mongoUri: pulumi.Input<string>;
  platform: Platform;
}

/**
 * A service built with handlers/iota: its function, a rule on the bus for the CloudEvent
 * types it consumes (with retry and DLQ), its MongoDB URI in SSM, and permission to put
 * events on that bus only.
 */
export class IotaService extends pulumi.ComponentResource {
  readonly function: NodeFunction;
  readonly rule: FunctionRule;
  readonly failedEvents: DeadLetterQueue;
  /** The service id: the `source` of its events. */
  readonly serviceId: string;
  /** The service's dead-letter queue, for the stack's `deadLetterQueues` output (the replay command). */
  readonly deadLetterQueues: DeadLetterQueueOutput[];

  constructor(name: string, args: IotaServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:iota:IotaService", name, {}, opts);
    this.serviceId = args.id;

    const mongoUri = secureParameter(
      `${name}-mongo-uri`,
      { value: args.mongoUri, description: `MongoDB connection string of the iota service ${args.id}` },
      { parent: this },
    );

    this.failedEvents = new DeadLetterQueue(
      `${name}-failed-events`,
      {
        platform: args.platform,
        description: `CloudEvents the iota service ${args.id} could not apply`,
        hardening: args.hardening,
        policyByRule: true,
      },
      { parent: this },
    );

    this.function = new NodeFunction(
      `${name}-fn`,
      {
        handler: args.handler,
        description: `iota service ${args.id}`,
        // The AWS SDK is bundled, not the runtime's: a bundle of 800 KB loads a third faster
        // than 550 KB that resolve the runtime's SDK file by file (npm run bench; see docs/bench.md).
        ...functionSizing(args.function),
        environment: {
          ...secretsEnvironment({ [IOTA_ENV.mongoUri]: mongoUri }, args.platform),
          [IOTA_ENV.mongoDb]: args.mongoDatabase,
          [IOTA_ENV.journalRetentionDays]: String(args.journalRetentionDays),
          [IOTA_ENV.serviceId]: args.id,
          [IOTA_ENV.eventBusName]: args.eventBus.name,
        },
        statements: [{ Sid: "EmitToOwnBus", Action: ["events:PutEvents"], Resource: [args.eventBus.arn] }, mongoUri.readStatement],
        readsSecrets: true,
        platform: args.platform,
        asyncInvocation: asyncRetryWithin(args.delivery, this.failedEvents),
      },
      { parent: this },
    );

    this.rule = new FunctionRule(
      `${name}-rule`,
      {
        eventBusName: args.eventBus.name,
        eventPattern: { "detail-type": [CLOUDEVENT_DETAIL_TYPE], detail: { type: args.consumes } },
        function: { arn: this.function.arn, name: this.function.functionName },
        retry: args.delivery,
        description: `CloudEvents consumed by ${args.id}`,
        deadLetterQueue: this.failedEvents,
      },
      { parent: this },
    );

    this.deadLetterQueues = [this.failedEvents.forReplay("iota", { functionName: this.function.functionName })];
    this.registerOutputs({ functionName: this.function.functionName });
  }
}
