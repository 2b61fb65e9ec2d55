import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type Alarming, allowSenders, DeadLetterQueue } from "./dead-letter-queue";

export interface FunctionRuleArgs {
  /** The bus the rule listens on. */
  eventBusName: pulumi.Input<string>;
  /** The EventBridge event pattern, as an object. */
  eventPattern: Record<string, unknown>;
  /** The function the rule invokes. */
  function: { arn: pulumi.Input<string>; name: pulumi.Input<string> };
  /** How long and how often EventBridge retries a failed invocation before the DLQ keeps the event. */
  retry: { maximumRetryAttempts: number; maximumEventAgeSeconds: number };
  alarming: Alarming;
  description: string;
  /**
   * A queue made beforehand, for a function that also writes to it (its URL must be in the
   * function's environment before the rule exists). By default the rule makes its own.
   */
  deadLetterQueue?: DeadLetterQueue;
}

/**
 * An EventBridge rule that invokes one function, with a retry policy and a dead-letter
 * queue on the target, and the Lambda permission scoped to this rule.
 */
export class FunctionRule extends pulumi.ComponentResource {
  readonly rule: aws.cloudwatch.EventRule;
  readonly target: aws.cloudwatch.EventTarget;
  readonly deadLetterQueue: DeadLetterQueue;
  readonly permission: aws.lambda.Permission;

  constructor(name: string, args: FunctionRuleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:events:FunctionRule", name, {}, opts);

    this.rule = new aws.cloudwatch.EventRule(
      name,
      { eventBusName: args.eventBusName, eventPattern: JSON.stringify(args.eventPattern), description: args.description },
      { parent: this },
    );
    const sender = { service: "events.amazonaws.com", sourceArn: this.rule.arn };
    if (args.deadLetterQueue) {
      this.deadLetterQueue = args.deadLetterQueue;
      allowSenders(`${name}-dlq-policy`, args.deadLetterQueue.queue, [sender], { parent: this });
    } else {
      this.deadLetterQueue = new DeadLetterQueue(
        `${name}-dlq`,
        { alarming: args.alarming, description: `events that ${name} could not deliver after every retry`, senders: [sender] },
        { parent: this },
      );
    }
    this.permission = new aws.lambda.Permission(
      `${name}-invoke`,
      { action: "lambda:InvokeFunction", function: args.function.name, principal: "events.amazonaws.com", sourceArn: this.rule.arn },
      { parent: this },
    );
    this.target = new aws.cloudwatch.EventTarget(
      `${name}-target`,
      {
        rule: this.rule.name,
        eventBusName: args.eventBusName,
        arn: args.function.arn,
        retryPolicy: {
          maximumRetryAttempts: args.retry.maximumRetryAttempts,
          maximumEventAgeInSeconds: args.retry.maximumEventAgeSeconds,
        },
        deadLetterConfig: { arn: this.deadLetterQueue.arn },
      },
      { parent: this, dependsOn: [this.permission] },
    );
    this.registerOutputs({ ruleArn: this.rule.arn, deadLetterQueueUrl: this.deadLetterQueue.url });
  }
}
