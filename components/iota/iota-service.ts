import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { IotaConfig } from "../../config";
import { IOTA_ENV, secretParamEnv } from "../../handlers/lib/env-names";
import { type Alarming, DeadLetterQueue } from "../events/dead-letter-queue";
import { FunctionRule } from "../events/function-rule";
import { asyncRetryWithin, NodeFunction } from "../lambda/node-function";
import { secureParameter } from "../secrets/secure-parameter";

/** The `detail-type` under which iota services put CloudEvents on the bus. */
export const CLOUDEVENT_DETAIL_TYPE = "application/cloudevents+json";

type ServiceConfig = IotaConfig["services"][number];

export interface IotaServiceArgs {
  /** Service id: the `source` of its events and part of its journal key. */
  serviceId: string;
  /** The function's folder under handlers/. */
  handler: string;
  /** CloudEvent types the service consumes. */
  consumes: string[];
  /** The bus to listen on and emit to; when absent, the component creates one. */
  eventBusName?: pulumi.Input<string>;
  mongoDatabase: string;
  /** The MongoDB connection string (a config secret), kept in SSM. */
  mongoUri: pulumi.Input<string>;
  function: ServiceConfig["function"];
  /** Retry bounds of the rule's target before its DLQ keeps an event. */
  delivery: ServiceConfig["delivery"];
  logRetentionDays: number;
  alarming: Alarming;
}

/**
 * A service built with handlers/lib/iota: its function, a rule on the bus for the CloudEvent
 * types it consumes (with retry and DLQ), its MongoDB URI in SSM, and permission to put
 * events on that bus only.
 */
export class IotaService extends pulumi.ComponentResource {
  readonly eventBus?: aws.cloudwatch.EventBus;
  readonly eventBusName: pulumi.Output<string>;
  readonly eventBusArn: pulumi.Output<string>;
  readonly function: NodeFunction;
  readonly rule: FunctionRule;
  readonly failedEvents: DeadLetterQueue;

  constructor(name: string, args: IotaServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:iota:IotaService", name, {}, opts);

    if (args.eventBusName === undefined) {
      this.eventBus = new aws.cloudwatch.EventBus(`${name}-bus`, {}, { parent: this });
      this.eventBusName = this.eventBus.name;
      this.eventBusArn = this.eventBus.arn;
    } else {
      const existing = aws.cloudwatch.getEventBusOutput({ name: args.eventBusName }, { parent: this });
      this.eventBusName = existing.name;
      this.eventBusArn = existing.arn;
    }

    const mongoUri = secureParameter(
      `${name}-mongo-uri`,
      { value: args.mongoUri, description: `MongoDB connection string of the iota service ${args.serviceId}` },
      { parent: this },
    );

    this.failedEvents = new DeadLetterQueue(
      `${name}-failed-events`,
      { alarming: args.alarming, description: `CloudEvents the iota service ${args.serviceId} could not apply` },
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
          [IOTA_ENV.serviceId]: args.serviceId,
          [IOTA_ENV.eventBusName]: this.eventBusName,
        },
        statements: [
          { Sid: "EmitToOwnBus", Action: ["events:PutEvents"], Resource: [this.eventBusArn] },
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
        eventBusName: this.eventBusName,
        eventPattern: { "detail-type": [CLOUDEVENT_DETAIL_TYPE], detail: { type: args.consumes } },
        function: { arn: this.function.arn, name: this.function.functionName },
        retry: args.delivery,
        alarming: args.alarming,
        description: `CloudEvents consumed by ${args.serviceId}`,
        deadLetterQueue: this.failedEvents,
      },
      { parent: this },
    );

    this.registerOutputs({ eventBusName: this.eventBusName, functionName: this.function.functionName });
  }
}
