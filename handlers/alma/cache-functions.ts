/**
 * The four cache functions: each takes Alma messages and keeps the cache current. Every step
 * is idempotent and ordered by the event's time (see cache.ts), so a retried, duplicated or
 * late message converges.
 *
 * Two envelopes are accepted:
 * - SQS (deployed: each function reads its own queue, which its topics feed): the records are
 *   handled in order, one at a time, and the answer lists the records that failed
 *   (`batchItemFailures`), so that SQS retries them alone and then keeps them in the
 *   failed-events queue. A record that is not a valid message fails the same way, with its
 *   reason logged; nothing is dropped. When every record fails, the function throws, so that
 *   the failure shows in its errors alarm (SQS then retries the whole batch, as it would).
 * - SNS (`npm run invoke`, the bench, replays): every record is validated before any is
 *   written, records are then handled in order, and a failure throws.
 */
import type * as z from "zod/mini";
import { logger } from "../lib/logger";
import { parseSnsMessages } from "../lib/sns";
import { isSqsEvent, parseQueuedSnsMessages, type SqsBatchResponse } from "../lib/sqs";
import { addToUser, type AlmaCacheClients, closeRecord, type Outcome, putRecord, removeFromUser } from "./cache";
import { eventTimeMs, loanItem, loanMessage, requestItem, requestMessage } from "./schema";

export type { SqsBatchResponse };

/** What an SNS event's messages did, one count per outcome. */
export type CacheResult = { records: number } & Record<Outcome, number>;

/** What a batch's records did: the outcome counts, and the records that failed. */
export type BatchResult = CacheResult & { failed: number };

/** One cache function: which messages it takes, and what it does with each. */
export interface CacheFunction<S extends z.ZodMiniType = z.ZodMiniType> {
  schema: S;
  /** The message, for errors: `Alma loan message`. */
  what: string;
  apply: (clients: AlmaCacheClients, message: z.infer<S>) => Promise<Outcome>;
}

/** A handler: an SQS batch is answered with its failed records, an SNS event with its outcome counts. */
export interface CacheHandler {
  (event: { Records: { messageId: string; body: string }[] }): Promise<SqsBatchResponse>;
  (event: unknown): Promise<CacheResult>;
}

const emptyResult = (records: number): CacheResult => ({ records, linked: 0, unlinked: 0, unchanged: 0, queued: 0, stale: 0 });

/** Thrown when no record of a batch could be applied: the whole batch is retried, and the function's errors alarm sees it. */
export class BatchFailedError extends Error {
  constructor(
    readonly failures: { messageId: string; error: string }[],
  ) {
    super(`every record of the batch failed (${failures.length}): ${failures.map((f) => `${f.messageId}: ${f.error}`).join("; ")}`);
    this.name = "BatchFailedError";
  }
}

/**
 * Applies an SQS batch, record by record in order, and returns the answer Lambda expects
 * with the outcome counts beside it. Throws only when the envelope is invalid or every
 * record failed.
 */
export async function applyBatch<S extends z.ZodMiniType>(fn: CacheFunction<S>, clients: AlmaCacheClients, event: unknown): Promise<{ response: SqsBatchResponse; result: BatchResult }> {
  const records = parseQueuedSnsMessages(event, fn.schema, fn.what);
  const result: BatchResult = { ...emptyResult(records.length), failed: 0 };
  const failures: { messageId: string; error: string }[] = [];
  for (const record of records) {
    const where = { messageId: record.messageId, receiveCount: record.receiveCount };
    if (!record.ok) {
      logger.error("invalid message: it is retried, then kept in the failed-events queue", { ...where, error: record.error.message });
      failures.push({ messageId: record.messageId, error: record.error.message });
      continue;
    }
    try {
      result[await fn.apply(clients, record.message)] += 1;
    } catch (err) {
      const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      logger.error("message failed: it is retried, then kept in the failed-events queue", { ...where, topicArn: record.topicArn, snsMessageId: record.snsMessageId, error });
      failures.push({ messageId: record.messageId, error });
    }
  }
  result.failed = failures.length;
  if (records.length > 0 && failures.length === records.length) throw new BatchFailedError(failures);
  return { response: { batchItemFailures: failures.map((f) => ({ itemIdentifier: f.messageId })) }, result };
}

/** Applies an SNS event: all records validated first, then applied in order; any failure throws. */
export async function applySnsEvent<S extends z.ZodMiniType>(fn: CacheFunction<S>, clients: AlmaCacheClients, event: unknown): Promise<CacheResult> {
  const messages = parseSnsMessages(event, fn.schema, fn.what);
  const result = emptyResult(messages.length);
  for (const { message } of messages) result[await fn.apply(clients, message)] += 1;
  return result;
}

function cacheHandler<S extends z.ZodMiniType>(fn: CacheFunction<S>): (clients: AlmaCacheClients) => CacheHandler {
  return (clients) =>
    (async (event: unknown) => (isSqsEvent(event) ? (await applyBatch(fn, clients, event)).response : applySnsEvent(fn, clients, event))) as CacheHandler;
}

export const LOAN_UPDATED: CacheFunction<typeof loanMessage> = {
  schema: loanMessage,
  what: "Alma loan message",
  async apply(clients, message) {
    const { loan_id, user_id } = message.item_loan;
    const ref = { table: clients.tables.loans, keyName: "loan_id" as const, id: loan_id };
    if (!(await putRecord(clients, ref, loanItem(message), eventTimeMs(message)))) return "stale";
    return addToUser(clients, user_id, "loan_ids", loan_id);
  },
};

export const LOAN_RETURNED: CacheFunction<typeof loanMessage> = {
  schema: loanMessage,
  what: "Alma loan message",
  async apply(clients, message) {
    const { loan_id, user_id } = message.item_loan;
    const ref = { table: clients.tables.loans, keyName: "loan_id" as const, id: loan_id };
    if (!(await closeRecord(clients, ref, eventTimeMs(message)))) return "stale";
    return removeFromUser(clients, user_id, "loan_ids", loan_id);
  },
};

export const REQUEST_UPDATED: CacheFunction<typeof requestMessage> = {
  schema: requestMessage,
  what: "Alma request message",
  async apply(clients, message) {
    const { request_id, user_primary_id } = message.user_request;
    const ref = { table: clients.tables.requests, keyName: "request_id" as const, id: request_id };
    if (!(await putRecord(clients, ref, requestItem(message, clients.now()), eventTimeMs(message)))) return "stale";
    return addToUser(clients, user_primary_id, "request_ids", request_id);
  },
};

export const REQUEST_CLOSED: CacheFunction<typeof requestMessage> = {
  schema: requestMessage,
  what: "Alma request message",
  async apply(clients, message) {
    const { request_id, user_primary_id } = message.user_request;
    const ref = { table: clients.tables.requests, keyName: "request_id" as const, id: request_id };
    if (!(await closeRecord(clients, ref, eventTimeMs(message)))) return "stale";
    return removeFromUser(clients, user_primary_id, "request_ids", request_id);
  },
};

export const loanUpdated = cacheHandler(LOAN_UPDATED);
export const loanReturned = cacheHandler(LOAN_RETURNED);
export const requestUpdated = cacheHandler(REQUEST_UPDATED);
export const requestClosed = cacheHandler(REQUEST_CLOSED);
