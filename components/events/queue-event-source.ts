import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { PolicyStatement } from "../iam";

/** What a function needs on the queue it consumes through an event source mapping, and nothing more. */
export const QUEUE_CONSUMER_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"];

/** The statement that lets a function's event source mapping read `queueArn`. */
export function queueConsumerStatement(queueArn: pulumi.Input<string>): PolicyStatement {
  return { Sid: "ReadOwnQueue", Action: QUEUE_CONSUMER_ACTIONS, Resource: [queueArn] };
}

/** SQS's visibility timeout for a Lambda consumer, as AWS advises: 6 times the function's timeout. */
export const visibilityTimeoutFor = (functionTimeoutSeconds: number) => 6 * functionTimeoutSeconds;

export interface QueueEventSourceArgs {
  queue: { arn: pulumi.Input<string> };
  function: { arn: pulumi.Input<string> };
  /** Records per invocation (SQS: 1-10 without a batching window). */
  batchSize: number;
  /** Concurrent invocations at most, within SQS_MAXIMUM_CONCURRENCY_LIMITS (2-1000). */
  maximumConcurrency: pulumi.Input<number>;
  /** Off: nothing is read, and messages wait in the queue (for its retention period). */
  enabled: pulumi.Input<boolean>;
}

/**
 * An SQS event source mapping that reports failures record by record
 * (`ReportBatchItemFailures`): the function answers with the records that failed, and only
 * those are retried. The function's role needs `queueConsumerStatement` on the queue.
 */
export function queueEventSource(
  name: string,
  args: QueueEventSourceArgs,
  opts: pulumi.CustomResourceOptions,
): aws.lambda.EventSourceMapping {
  return new aws.lambda.EventSourceMapping(
    name,
    {
      eventSourceArn: args.queue.arn,
      functionName: args.function.arn,
      batchSize: args.batchSize,
      functionResponseTypes: ["ReportBatchItemFailures"],
      scalingConfig: { maximumConcurrency: args.maximumConcurrency },
      enabled: args.enabled,
    },
    opts,
  );
}
