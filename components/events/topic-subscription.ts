import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { DeadLetterQueue } from "./dead-letter-queue";

export interface QueueSubscriptionArgs {
  /** The topic to subscribe to. */
  topicArn: pulumi.Input<string>;
  /** The queue SNS sends each message to. Its policy must let this topic send (see `queuePolicy`). */
  queue: { arn: pulumi.Input<string> };
  /**
   * Where SNS puts a message it could not deliver to the queue at all. The queue must let
   * this topic send (DeadLetterQueue's `senders`).
   */
  deadLetterQueue: DeadLetterQueue;
}

/**
 * Subscribes an SQS queue to an SNS topic, with a redrive policy for what SNS cannot deliver.
 * Raw message delivery stays off: the queue's message is the SNS notification, JSON with its
 * Type, MessageId, TopicArn, Message and Timestamp, so the consumer knows where it came from.
 * A child of `opts.parent`, named `name`.
 */
export function subscribeQueue(name: string, args: QueueSubscriptionArgs, opts: pulumi.CustomResourceOptions): aws.sns.TopicSubscription {
  return new aws.sns.TopicSubscription(
    name,
    {
      topic: args.topicArn,
      protocol: "sqs",
      endpoint: args.queue.arn,
      rawMessageDelivery: false,
      redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: args.deadLetterQueue.arn }),
    },
    opts,
  );
}
