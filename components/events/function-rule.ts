import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type RetryBounds, targetRetryPolicy } from "../retry-bounds";
import { type DeadLetterQueue, queuePolicy } from "./dead-letter-queue";

export interface FunctionRuleArgs {
  /** The bus the rule listens on. */
  eventBusName: pulumi.Input<string>;
  /** The EventBridge event pattern, as an object. */
  eventPattern: Record<string, unknown>;
  /** The function the rule invokes. */
  function: { arn: pulumi.Input<string>; name: pulumi.Input<string> };
  /** How long and how often EventBridge retries a failed invocation before the DLQ keeps the event. */
  retry: RetryBounds;
  description: string;
  /** Off keeps the rule, disabled: the bus's events then reach no function (an archive on the bus still keeps them). Default on. */
  enabled?: boolean;
  /**
   * Where events go that EventBridge could not deliver: the app's failure queue, which also
   * keeps the function's own failures. The rule writes the queue's policy, with itself as
   * the sender: the queue is made with `policyByRule`.
   */
  deadLetterQueue: DeadLetterQueue;
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
      {
        eventBusName: args.eventBusName,
        eventPattern: JSON.stringify(args.eventPattern),
        description: args.description,
        state: args.enabled === false ? "DISABLED" : "ENABLED",
      },
      { parent: this },
    );
    this.deadLetterQueue = args.deadLetterQueue;
    // A queue has one policy: a second writer would replace the first one's statements.
    if (!args.deadLetterQueue.policyByRule)
      throw new Error(`${name}: its dead-letter queue must be made with policyByRule, so that the rule writes the queue's one policy`);
    queuePolicy(
      `${name}-dlq-policy`,
      args.deadLetterQueue.queue,
      { senders: [{ service: "events.amazonaws.com", sourceArn: this.rule.arn }], tlsOnly: args.deadLetterQueue.tlsOnly },
      { parent: this },
    );
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
        retryPolicy: targetRetryPolicy(args.retry),
        deadLetterConfig: { arn: this.deadLetterQueue.arn },
      },
      { parent: this, dependsOn: [this.permission] },
    );
    this.registerOutputs({ ruleArn: this.rule.arn, deadLetterQueueUrl: this.deadLetterQueue.url });
  }
}
