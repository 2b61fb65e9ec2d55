import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { applies, type Hardening, keptUnless } from "../adoption";
import { policyDocument, tlsOnlyStatement } from "../iam";
import { type QueueMonitoring, queueAlarms } from "../monitoring/alarms";
import type { Platform } from "../platform";
import { queueNameOf, statefulOptions } from "../storage/stateful";
import { DEAD_LETTER_RETENTION_SECONDS, DEAD_LETTER_TAG } from "./dead-letter-facts";

/** The retention every dead-letter queue has (see dead-letter-facts.ts), for the tests and the scripts that check it. */
export { DEAD_LETTER_RETENTION_SECONDS };

/** An AWS service that may send failed deliveries to the queue, and from which resource. */
export interface DeadLetterSender {
  /** Service principal, for example `events.amazonaws.com`. */
  service: string;
  /** ARN of the resource whose failures land here (rule, topic, subscription). */
  sourceArn: pulumi.Input<string>;
}

export interface DeadLetterQueueArgs {
  /** The stage's alarms on the queue's depth and age, and its protection: the queue keeps events that must not be lost. */
  platform: Platform;
  /** Services allowed to send to the queue through its resource policy. Senders that use an IAM role (Lambda, Scheduler) need none. */
  senders?: DeadLetterSender[];
  /** What ends up here, for the alarms' descriptions. */
  description: string;
  /**
   * An existing queue (its URL) to adopt in place. It keeps its tags, and its encryption
   * until the app's `encryption` improvement applies; its retention must be 14 days already.
   */
  existingUrl?: string;
  /** The app's improvements; encryption and tlsOnly apply to a queue the stack creates unless switched off. */
  hardening?: Hardening;
  /**
   * A FunctionRule sends here and writes the queue's one policy, with its rule among the
   * senders and the TLS-only deny: the queue then makes none of its own.
   */
  policyByRule?: boolean;
}

/** What a queue's policy holds: the services that may send to it, and whether it refuses requests not made over TLS. */
export interface QueuePolicyArgs {
  senders: DeadLetterSender[];
  tlsOnly: boolean;
}

/**
 * The queue's one policy: AWS services may send to `queue` (failed events to a dead-letter
 * queue, a topic's messages to its subscribed queue), each only on behalf of its own resource
 * (`aws:SourceArn`), and, with `tlsOnly`, nobody may use it except over TLS. A queue has one
 * policy: list every sender here.
 */
export function queuePolicy(
  name: string,
  queue: aws.sqs.Queue,
  args: QueuePolicyArgs,
  opts: pulumi.CustomResourceOptions,
): aws.sqs.QueuePolicy {
  return new aws.sqs.QueuePolicy(
    name,
    {
      queueUrl: queue.url,
      policy: policyDocument([
        ...args.senders.map((sender) => ({
          Principal: { Service: sender.service },
          Action: "sqs:SendMessage",
          Resource: queue.arn,
          Condition: { ArnEquals: { "aws:SourceArn": sender.sourceArn } },
        })),
        ...(args.tlsOnly ? [tlsOnlyStatement("sqs", [queue.arn])] : []),
      ]),
    },
    opts,
  );
}

/**
 * What a replay needs to know of a dead-letter queue: one entry of the stack's
 * `deadLetterQueues` output, which `npm run dlq` reads (see scripts/dlq.ts).
 */
export interface DeadLetterQueueOutput {
  /** The app (its config key). */
  app: string;
  /** The queue's logical name, `alma-failed-events`: what `--queue` selects it by. */
  name: string;
  url: pulumi.Input<string>;
  arn: pulumi.Input<string>;
  /** The function a message is replayed to when the message itself names none (the app's records, SQS-redriven messages of unknown source). */
  functionName?: pulumi.Input<string>;
  /**
   * Where messages come from that name no function: a queue that SQS's redrive moved them
   * from, or a topic whose subscription could not deliver them; each with the function that
   * consumes what it carries.
   */
  sources?: { arn: pulumi.Input<string>; functionName: pulumi.Input<string> }[];
  /** The queue a message goes back to, when its consumer is outside the stack. */
  sendBackTo?: { url: pulumi.Input<string>; arn: pulumi.Input<string> };
  /** The function reconciles everything on each run: one successful replay stands for every older message. */
  reconciles?: boolean;
}

/** How a queue's messages are replayed: the parts of DeadLetterQueueOutput that the app knows. */
export type ReplayTo = Pick<DeadLetterQueueOutput, "functionName" | "sources" | "sendBackTo" | "reconciles">;

/**
 * An encrypted SQS queue that keeps failed events for 14 days, with alarms on its depth (any
 * message) and on its oldest message's age (over 7 days, half its retention, while there is
 * time to replay it). Every dead-letter queue in the program is one of these.
 */
export class DeadLetterQueue extends pulumi.ComponentResource {
  readonly queue: aws.sqs.Queue;
  readonly depthAlarm: aws.cloudwatch.MetricAlarm;
  readonly ageAlarm: aws.cloudwatch.MetricAlarm;
  /** Its depth and age alarms, and what its app's dashboard shows of it. */
  readonly monitoring: QueueMonitoring;
  readonly arn: pulumi.Output<string>;
  readonly url: pulumi.Output<string>;
  /** Whether the queue's policy refuses requests not made over TLS (the `tlsOnly` improvement). */
  readonly tlsOnly: boolean;
  /** Whether a FunctionRule writes the queue's policy (see DeadLetterQueueArgs.policyByRule). */
  readonly policyByRule: boolean;
  /** The logical name: the queue's name in the `deadLetterQueues` output. */
  readonly logicalName: string;

  constructor(name: string, args: DeadLetterQueueArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:events:DeadLetterQueue", name, {}, opts);
    this.logicalName = name;

    const adopted = args.existingUrl !== undefined;
    const encrypted = applies(args.hardening ?? {}, "encryption", adopted);
    this.tlsOnly = applies(args.hardening ?? {}, "tlsOnly", adopted);
    this.policyByRule = args.policyByRule ?? false;
    this.queue = new aws.sqs.Queue(
      name,
      {
        name: args.existingUrl && queueNameOf(args.existingUrl),
        messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
        sqsManagedSseEnabled: adopted && !encrypted ? undefined : encrypted,
        // An adopted queue keeps its own tags; the policy pack finds it through its source's redrive policy.
        tags: adopted ? undefined : { [DEAD_LETTER_TAG]: "true" },
      },
      statefulOptions(
        args.platform.protection,
        { parent: this },
        adopted ? { importId: args.existingUrl!, keep: keptUnless(encrypted, adopted, ["sqsManagedSseEnabled"]) } : undefined,
      ),
    );
    this.arn = this.queue.arn;
    this.url = this.queue.url;

    const senders = args.senders ?? [];
    if (!this.policyByRule && (senders.length > 0 || this.tlsOnly))
      queuePolicy(`${name}-policy`, this.queue, { senders, tlsOnly: this.tlsOnly }, { parent: this });

    this.monitoring = queueAlarms(name, { queue: this.queue, role: "dead-letter", holds: args.description }, args.platform.alarming, {
      parent: this,
    });
    [this.ageAlarm, this.depthAlarm] = this.monitoring.alarms;

    this.registerOutputs({ arn: this.arn, url: this.url });
  }

  /** The queue's entry in the stack's `deadLetterQueues` output. */
  forReplay(app: string, replay: ReplayTo): DeadLetterQueueOutput {
    return { app, name: this.logicalName, url: this.url, arn: this.arn, ...replay };
  }
}
