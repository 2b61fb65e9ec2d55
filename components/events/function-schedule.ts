import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument, trustPolicy } from "../iam";
import { type RetryBounds, targetRetryPolicy } from "../retry-bounds";
import type { DeadLetterQueue } from "./dead-letter-queue";

export interface FunctionScheduleArgs {
  /** An EventBridge Scheduler expression: `rate(6 hours)`, `cron(0 0/6 * * ? *)` or `at(...)`. */
  expression: string;
  /** Off keeps the schedule, paused. */
  enabled: boolean;
  /** The function the schedule invokes. */
  function: { arn: pulumi.Input<string> };
  /** How long and how often Scheduler retries a failed invocation before the DLQ keeps it. */
  retry: RetryBounds;
  description: string;
  /**
   * Where invocations go that Scheduler could not deliver: the app's failure queue, which also
   * keeps the function's own failures. Scheduler sends with its role, so the queue needs no policy.
   */
  deadLetterQueue: DeadLetterQueue;
  /**
   * What the role, its policy and the schedule were called before they were made here, as
   * `aliases` (an old name, an old parent): a resource that moved keeps its identity instead of
   * being replaced.
   */
  previously?: {
    role?: pulumi.ResourceOptions["aliases"];
    policy?: pulumi.ResourceOptions["aliases"];
    schedule?: pulumi.ResourceOptions["aliases"];
  };
}

/**
 * An EventBridge Scheduler schedule that invokes one function, with a retry policy and a
 * dead-letter queue on the target, and a role that may invoke that function and send to
 * that queue only: the schedule's twin of FunctionRule.
 */
export class FunctionSchedule extends pulumi.ComponentResource {
  readonly role: aws.iam.Role;
  readonly rolePolicy: aws.iam.RolePolicy;
  readonly schedule: aws.scheduler.Schedule;

  constructor(name: string, args: FunctionScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:events:FunctionSchedule", name, {}, opts);

    const identity = aws.getCallerIdentityOutput({}, { parent: this });
    const previously = args.previously ?? {};
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        description: `Lets EventBridge Scheduler run ${args.description}`,
        // Only schedules of this account may use the role.
        assumeRolePolicy: trustPolicy("scheduler.amazonaws.com", { StringEquals: { "aws:SourceAccount": identity.accountId } }),
      },
      { parent: this, aliases: previously.role },
    );
    this.rolePolicy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.id,
        policy: policyDocument([
          { Sid: "InvokeTheFunction", Action: "lambda:InvokeFunction", Resource: args.function.arn },
          { Sid: "KeepFailedInvocations", Action: "sqs:SendMessage", Resource: args.deadLetterQueue.arn },
        ]),
      },
      { parent: this, aliases: previously.policy },
    );
    this.schedule = new aws.scheduler.Schedule(
      name,
      {
        description: args.description,
        scheduleExpression: args.expression,
        state: args.enabled ? "ENABLED" : "DISABLED",
        flexibleTimeWindow: { mode: "OFF" },
        target: {
          arn: args.function.arn,
          roleArn: this.role.arn,
          retryPolicy: targetRetryPolicy(args.retry),
          deadLetterConfig: { arn: args.deadLetterQueue.arn },
        },
      },
      // The role must be able to invoke before the first run.
      { parent: this, dependsOn: [this.rolePolicy], aliases: previously.schedule },
    );
    this.registerOutputs({ scheduleArn: this.schedule.arn, state: this.schedule.state });
  }
}
