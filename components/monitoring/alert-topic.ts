import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface AlertTopicArgs {
  /** E-mail address to subscribe; the recipient confirms the subscription once. */
  email?: pulumi.Input<string>;
  /** An existing topic to notify instead of creating one. */
  existingTopicArn?: pulumi.Input<string>;
}

/**
 * The SNS topic the stack's alarms in one region notify (CloudWatch notifies only a topic in
 * the alarm's region: index.ts makes one per region that has alarms). It is not encrypted on purpose: CloudWatch
 * cannot publish to a topic encrypted with the AWS-managed SNS key, and alarm notifications
 * carry no data beyond metric names and thresholds.
 */
export class AlertTopic extends pulumi.ComponentResource {
  readonly arn: pulumi.Output<string>;
  readonly topic?: aws.sns.Topic;

  constructor(name: string, args: AlertTopicArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:monitoring:AlertTopic", name, {}, opts);
    if (args.existingTopicArn !== undefined) {
      this.arn = pulumi.output(args.existingTopicArn);
    } else {
      this.topic = new aws.sns.Topic(name, { displayName: "tributary alarms" }, { parent: this });
      this.arn = this.topic.arn;
    }
    if (args.email !== undefined) {
      new aws.sns.TopicSubscription(`${name}-email`, { topic: this.arn, protocol: "email", endpoint: args.email }, { parent: this });
    }
    this.registerOutputs({ arn: this.arn });
  }
}
