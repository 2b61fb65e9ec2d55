import * as pulumi from "@pulumi/pulumi";
import type { IotaConfig } from "../../config";
import { CLOUDEVENT_DETAIL_TYPE, IOTA_ENV, secretParamEnv } from "../../handlers/lib/env-names";
import { type Alarming, DeadLetterQueue } from "../events/dead-letter-queue";
import { FunctionRule } from "../events/function-rule";
import { asyncRetryWithin, NodeFunction } from "../lambda/node-function";
import type { Protection } from "../storage/stateful";
import { secureParameter } from "../secrets/secure-parameter";


type ServiceConfig = IotaConfig["services"][number];

export interface IotaServiceArgs {
  /** Service id: the `source` of its events and part of its journal key. */
  serviceId: string;
  /** The function's folder under handlers/. */
  handler: string;
  /** CloudEvent types the service consumes. */
  consumes: string[];
  /** The bus to listen on and emit to (see IotaEventBus). */
  eventBus: { name: pulumi.Input<string>; arn: pulumi.Input<string> };
  mongoDatabase: string;
  /** Days committed journal entries are kept (MILL_IOTA_JOURNAL_RETENTION_DAYS). */
  journalRetentionDays: number;
  /** The MongoDB connection string (a config secret), kept in SSM. */
  mongoUri: pulumi.Input<string>;
  function: ServiceConfig["function"];
  /** Retry bounds of the rule's target before its DLQ keeps an event. */
  delivery: ServiceConfig["delivery"];
  logRetentionDays: number;
  alarming: Alarming;
  /** The stage's protection of the failed-events queue. */
  protection: Protection;
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

  constructor(name: string, args: IotaServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:iota:IotaService", name, {}, opts);

    const mongoUri = secureParameter(
      `${name}-mongo-uri`,
      { value: args.mongoUri, description: `MongoDB connection string of the iota service ${args.serviceId}` },
      { parent: this },
    );

    this.failedEvents = new DeadLetterQueue(
      `${name}-failed-events`,
      { alarming: args.alarming, description: `CloudEvents the iota service ${args.serviceId} could not apply`, protection: args.protection },
      { parent: this },
    );

    this.function = new NodeFunction(
      `${name}-fn`,
      {
        handler: args.handler,
        description: `iota service ${args.serviceId}`,
        // The mongodb driver takes most of the 700 KB budget; the runtime's SDK keeps it under.
        runtimeAwsSdk: true,
        memorySize: args.function.memoryMb,
        timeout: args.function.timeoutSeconds,
        reservedConcurrency: args.function.reservedConcurrency,
        tracing: args.function.tracing,
        environment: {
          [secretParamEnv(IOTA_ENV.mongoUri)]: mongoUri.name,
          [IOTA_ENV.mongoDb]: args.mongoDatabase,
          [IOTA_ENV.journalRetentionDays]: String(args.journalRetentionDays),
          [IOTA_ENV.serviceId]: args.serviceId,
          [IOTA_ENV.eventBusName]: args.eventBus.name,
        },
        statements: [
          { Sid: "EmitToOwnBus", Action: ["events:PutEvents"], Resource: [args.eventBus.arn] },
          mongoUri.readStatement,
        ],
        logRetentionDays: args.logRetentionDays,
        alarming: args.alarming,
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
        description: `CloudEvents consumed by ${args.serviceId}`,
        deadLetterQueue: this.failedEvents,
      },
      { parent: this },
    );

    this.registerOutputs({ functionName: this.function.functionName });
  }
}
