import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { DeadLetterQueue } from "./dead-letter-queue";

export interface FunctionSubscriptionArgs {
  /** The topic to subscribe to. */
  topicArn: pulumi.Input<string>;
  /** The function SNS invokes (asynchronously) for each message. */
  function: { arn: pulumi.Input<string>; functionName: pulumi.Input<string> };
  /**
   * Where SNS puts a message it could not deliver to the function at all. The queue must let
   * this topic send (DeadLetterQueue's `senders`).
   */
  deadLetterQueue: DeadLetterQueue;
}

/**
 * Subscribes a function to an SNS topic: the subscription with its redrive policy, and the
 * Lambda permission for that topic alone. Both are children of `opts.parent`, named `name`
 * and `${name}-invoke`.
 */
export function subscribeFunction(
  name: string,
  args: FunctionSubscriptionArgs,
  opts: pulumi.CustomResourceOptions,
): { permission: aws.lambda.Permission; subscription: aws.sns.TopicSubscription } {
  const permission = new aws.lambda.Permission(
    `${name}-invoke`,
    { action: "lambda:InvokeFunction", function: args.function.functionName, principal: "sns.amazonaws.com", sourceArn: args.topicArn },
    opts,
  );
  const subscription = new aws.sns.TopicSubscription(
    name,
    {
      topic: args.topicArn,
      protocol: "lambda",
      endpoint: args.function.arn,
      redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: args.deadLetterQueue.arn }),
    },
    opts,
  );
  return { permission, subscription };
}
