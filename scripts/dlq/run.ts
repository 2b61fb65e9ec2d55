/**
 * Reading a dead-letter queue and replaying its messages, with the AWS SDK's default
 * configuration (AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_LAMBDA point it at local servers).
 *
 * Messages are received with a visibility timeout, so that a concurrent run (or a consumer)
 * does not take them at the same time; whatever is not deleted is made visible again at the
 * end of the run (not before: a message released early would be received again in the same run).
 * A message is deleted only once its replay succeeded.
 */
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from "@aws-sdk/client-lambda";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { type Parked, type QueueEntry, type Replay, UnreadableMessage, type UnwrapOptions, unwrap } from "./formats";

/** Lambda runs a function for 15 minutes at most: a message being replayed stays hidden a little longer. */
export const REPLAY_VISIBILITY_SECONDS = 15 * 60 + 60;
/** While messages are only listed or shown. */
export const READ_VISIBILITY_SECONDS = 60;

export class QueueError extends Error {
  constructor(queue: QueueEntry, problem: string) {
    super(`${queue.name} (${queue.url}): ${problem}`);
    this.name = "QueueError";
  }
}

/** The region of a queue: from its ARN, else from its URL (`sqs.<region>.amazonaws.com`), else the environment's. */
export function regionOf(queue: Pick<QueueEntry, "url" | "arn">): string | undefined {
  if (queue.arn?.startsWith("arn:")) return queue.arn.split(":")[3];
  const host = /^https?:\/\/([^/]+)/.exec(queue.url)?.[1] ?? "";
  return (
    /^sqs\.([a-z0-9-]+)\.amazonaws\.com/.exec(host)?.[1] ?? /^([a-z0-9-]+)\.queue\.amazonaws\.com/.exec(host)?.[1] ?? process.env.AWS_REGION
  );
}

/** One client per region and service, made on first use. */
export class Clients {
  private readonly sqsClients = new Map<string, SQSClient>();
  private readonly lambdaClients = new Map<string, LambdaClient>();

  sqs(region: string | undefined): SQSClient {
    const key = region ?? "";
    if (!this.sqsClients.has(key)) this.sqsClients.set(key, new SQSClient(region ? { region } : {}));
    return this.sqsClients.get(key)!;
  }

  lambda(region: string | undefined): LambdaClient {
    const key = region ?? "";
    if (!this.lambdaClients.has(key)) this.lambdaClients.set(key, new LambdaClient(region ? { region } : {}));
    return this.lambdaClients.get(key)!;
  }

  destroy(): void {
    for (const client of [...this.sqsClients.values(), ...this.lambdaClients.values()]) client.destroy();
  }
}

const describeError = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

function queueFailure(queue: QueueEntry, err: unknown): Error {
  if (err instanceof QueueDoesNotExist || (err as { name?: string })?.name === "QueueDoesNotExist") {
    return new QueueError(queue, `the queue does not exist (in ${regionOf(queue) ?? "the default region"})`);
  }
  return new QueueError(queue, describeError(err));
}

/** The queue's depth and retention. */
export async function queueStats(
  clients: Clients,
  queue: QueueEntry,
): Promise<{ visible: number; inFlight: number; retentionSeconds: number }> {
  try {
    const { Attributes = {} } = await clients.sqs(regionOf(queue)).send(
      new GetQueueAttributesCommand({
        QueueUrl: queue.url,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "MessageRetentionPeriod"],
      }),
    );
    return {
      visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
      retentionSeconds: Number(Attributes.MessageRetentionPeriod ?? 14 * 24 * 3600),
    };
  } catch (err) {
    throw queueFailure(queue, err);
  }
}

export interface VisitOptions {
  /** Messages visited at most. */
  limit: number;
  visibilitySeconds: number;
  /** Long polling, so that an empty answer means an empty queue (short polling samples some servers only). */
  waitSeconds: number;
}

/**
 * Receives the queue's messages, up to `limit`, and calls `visit` on each once; a message for
 * which it returns "deleted" is gone, every other one is made visible again at the end.
 * `visit` returning "stop" ends the reading (show found its message).
 */
export async function visitMessages(
  clients: Clients,
  queue: QueueEntry,
  options: VisitOptions,
  visit: (message: Message) => Promise<"deleted" | "kept" | "stop">,
): Promise<{ visited: number; released: number; releaseFailures: number }> {
  const sqs = clients.sqs(regionOf(queue));
  const held: Message[] = [];
  const seen = new Set<string>();
  let visited = 0;
  let stop = false;
  let releaseFailures = 0;
  try {
    while (!stop && visited < options.limit) {
      let messages: Message[];
      try {
        ({ Messages: messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            MaxNumberOfMessages: Math.min(10, options.limit - visited),
            VisibilityTimeout: options.visibilitySeconds,
            WaitTimeSeconds: options.waitSeconds,
            MessageAttributeNames: ["All"],
            MessageSystemAttributeNames: ["All"],
          }),
        ));
      } catch (err) {
        throw queueFailure(queue, err);
      }
      // Nothing new: the queue is read (what comes back is what this run holds already, its visibility run out).
      if (messages.every((m) => seen.has(m.MessageId ?? ""))) {
        held.push(...messages);
        break;
      }
      for (const message of messages) {
        // Seen already (its visibility ran out during a long replay), or past the limit: held, untouched.
        if (stop || visited >= options.limit || seen.has(message.MessageId ?? "")) {
          held.push(message);
          continue;
        }
        seen.add(message.MessageId ?? "");
        visited += 1;
        const outcome = await visit(message);
        if (outcome !== "deleted") held.push(message);
        if (outcome === "stop") stop = true;
      }
    }
  } finally {
    for (const message of held) {
      try {
        await sqs.send(
          new ChangeMessageVisibilityCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }),
        );
      } catch {
        // An older receipt of a message received twice; it becomes visible when its timeout ends.
        releaseFailures += 1;
      }
    }
  }
  return { visited, released: held.length - releaseFailures, releaseFailures };
}

/** What a replay did. */
export type ReplayOutcome = { ok: true; detail: string } | { ok: false; error: string };

/** Replays one message as `replay` says; never throws. */
export async function replayMessage(clients: Clients, replay: Replay): Promise<ReplayOutcome> {
  if (replay.action === "keep") return { ok: false, error: replay.why };
  if (replay.action === "send") {
    try {
      await clients
        .sqs(regionOf({ url: replay.queueUrl }))
        .send(new SendMessageCommand({ QueueUrl: replay.queueUrl, MessageBody: replay.body, MessageAttributes: replay.messageAttributes }));
      return { ok: true, detail: `sent back to ${replay.queueUrl}` };
    } catch (err) {
      return { ok: false, error: `could not send it back to ${replay.queueUrl}: ${describeError(err)}` };
    }
  }
  try {
    const answer = await clients.lambda(replay.region).send(
      new InvokeCommand({
        FunctionName: replay.functionName,
        InvocationType: "RequestResponse",
        Payload: Buffer.from(JSON.stringify(replay.payload)),
      }),
    );
    const text = answer.Payload ? Buffer.from(answer.Payload).toString("utf8") : "";
    let result: unknown;
    try {
      result = text === "" ? null : JSON.parse(text);
    } catch {
      result = text;
    }
    if (answer.FunctionError) {
      const error = result as { errorType?: string; errorMessage?: string } | null;
      return {
        ok: false,
        error: `${replay.functionName} failed (${answer.FunctionError}): ${error?.errorType ?? "Error"}: ${error?.errorMessage ?? text}`,
      };
    }
    const failures = (result as { batchItemFailures?: unknown[] } | null)?.batchItemFailures;
    if (replay.batch && Array.isArray(failures) && failures.length > 0) {
      return { ok: false, error: `${replay.functionName} answered that the record failed (batchItemFailures): its logs say why` };
    }
    return { ok: true, detail: `${replay.functionName} answered ${text.length > 200 ? `${text.slice(0, 200)}…` : text}` };
  } catch (err) {
    if (err instanceof ResourceNotFoundException || (err as { name?: string })?.name === "ResourceNotFoundException") {
      return {
        ok: false,
        error: `function ${replay.functionName} does not exist${replay.region ? ` in ${replay.region}` : ""} (${(err as Error).message}): pass --function <name> if it was replaced`,
      };
    }
    return { ok: false, error: `could not invoke ${replay.functionName}: ${describeError(err)}` };
  }
}

export async function deleteMessage(clients: Clients, queue: QueueEntry, message: Message): Promise<string | undefined> {
  try {
    await clients.sqs(regionOf(queue)).send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle }));
    return undefined;
  } catch (err) {
    return describeError(err);
  }
}

/** Unwraps, or says why it cannot. */
export function read(message: Message, queue: QueueEntry, options: UnwrapOptions): Parked | UnreadableMessage {
  try {
    return unwrap(message, queue, options);
  } catch (err) {
    if (err instanceof UnreadableMessage) return err;
    return new UnreadableMessage(message.MessageId ?? "?", describeError(err));
  }
}
