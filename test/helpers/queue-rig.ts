/**
 * An SQS standard queue and a Lambda event source mapping on it, in memory, for tests that
 * drive a handler the way AWS does: batches of visible messages handed out at-least-once and
 * in no guaranteed order, the failed records of a batch (`ReportBatchItemFailures`) visible
 * again after the visibility timeout, a message moved to the dead-letter queue after
 * `maxReceiveCount` receives, and the mapping enabled or not (a paused cutover).
 */
import { randomUUID } from "node:crypto";

export interface RigMessage {
  messageId: string;
  body: string;
  receiveCount: number;
  inFlight: boolean;
  /** Not handed out before this time (ms): the visibility timeout after a failed receive. */
  visibleAt: number;
}

export interface MemoryQueueOptions {
  maxReceiveCount: number;
  /** The visibility timeout, shortened for tests. */
  visibilityMs: number;
  /** Seeded: how often a visible message is passed over by one receive (SQS standard's best-effort order). */
  random: () => number;
}

export class MemoryQueue {
  readonly messages = new Map<string, RigMessage>();
  readonly deadLetters: RigMessage[] = [];
  readonly arn: string;
  /** Failed receives made visible again. */
  redelivered = 0;

  constructor(
    readonly name: string,
    private readonly options: MemoryQueueOptions,
  ) {
    this.arn = `arn:aws:sqs:eu-west-2:000000000000:${name}`;
  }

  send(body: string): string {
    const messageId = randomUUID();
    this.messages.set(messageId, { messageId, body, receiveCount: 0, inFlight: false, visibleAt: 0 });
    return messageId;
  }

  /** Up to `max` visible messages, now in flight. */
  receive(max: number): RigMessage[] {
    const now = Date.now();
    const batch: RigMessage[] = [];
    for (const message of this.messages.values()) {
      if (batch.length >= max) break;
      if (message.inFlight || message.visibleAt > now || this.options.random() < 0.2) continue;
      message.inFlight = true;
      message.receiveCount += 1;
      batch.push(message);
    }
    return batch;
  }

  delete(messageIds: Iterable<string>): void {
    for (const id of messageIds) this.messages.delete(id);
  }

  /** Failed: visible again after the visibility timeout, or moved to the dead-letter queue after its last receive. */
  release(messageIds: Iterable<string>): void {
    for (const id of messageIds) {
      const message = this.messages.get(id);
      if (!message) continue;
      message.inFlight = false;
      if (message.receiveCount >= this.options.maxReceiveCount) {
        this.messages.delete(id);
        this.deadLetters.push(message);
      } else {
        this.redelivered += 1;
        message.visibleAt = Date.now() + this.options.visibilityMs;
      }
    }
  }

  /** Messages in the queue, visible or not. */
  get depth(): number {
    return this.messages.size;
  }
}

export interface SqsRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: { ApproximateReceiveCount: string };
  messageAttributes: Record<string, never>;
  eventSource: "aws:sqs";
  eventSourceARN: string;
  awsRegion: string;
}

export type BatchHandler = (event: {
  Records: SqsRecord[];
}) => Promise<{ batchItemFailures: { itemIdentifier: string }[] } | undefined | null>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Lambda event source mapping on a MemoryQueue: up to `maximumConcurrency` pollers, each invoking the handler with one batch at a time. */
export class EventSourceMapping {
  /** Message ids deleted after the handler answered that they succeeded. */
  readonly acked = new Set<string>();
  /** Invocations that threw (the whole batch failed). */
  errors = 0;
  invocations = 0;
  private pollers: Promise<void>[] = [];
  private enabled = false;

  constructor(
    readonly queue: MemoryQueue,
    private readonly handler: BatchHandler,
    private readonly options: { batchSize: number; maximumConcurrency: number },
  ) {}

  get isEnabled(): boolean {
    return this.enabled;
  }

  setEnabled(enabled: boolean): void {
    if (enabled === this.enabled) return;
    this.enabled = enabled;
    if (enabled) this.pollers = Array.from({ length: this.options.maximumConcurrency }, () => this.poll());
  }

  /** Resolves once the queue is empty, then disables the mapping and waits for its pollers. */
  async drain(): Promise<void> {
    while (this.queue.depth > 0) await sleep(2);
    await this.stop();
  }

  async stop(): Promise<void> {
    this.enabled = false;
    await Promise.all(this.pollers);
    this.pollers = [];
  }

  private async poll(): Promise<void> {
    while (this.enabled) {
      const batch = this.queue.receive(this.options.batchSize);
      if (batch.length === 0) {
        await sleep(1);
        continue;
      }
      const ids = batch.map((m) => m.messageId);
      let failed: Set<string>;
      this.invocations += 1;
      try {
        const response = await this.handler({
          Records: batch.map((m) => ({
            messageId: m.messageId,
            receiptHandle: `${m.messageId}:${m.receiveCount}`,
            body: m.body,
            attributes: { ApproximateReceiveCount: String(m.receiveCount) },
            messageAttributes: {},
            eventSource: "aws:sqs",
            eventSourceARN: this.queue.arn,
            awsRegion: "eu-west-2",
          })),
        });
        failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        // Lambda treats an answer naming a record it did not send as the whole batch's failure.
        if ([...failed].some((id) => !ids.includes(id))) failed = new Set(ids);
      } catch {
        this.errors += 1;
        failed = new Set(ids);
      }
      const succeeded = ids.filter((id) => !failed.has(id));
      for (const id of succeeded) this.acked.add(id);
      this.queue.delete(succeeded);
      this.queue.release(failed);
    }
  }
}
