/**
 * The four cache functions: each takes Alma messages and keeps the cache current. Every step
 * is idempotent and ordered by the event's time (Alma's `time`, or else when SNS received the
 * message; see cache.ts), so a retried, duplicated or late message converges, and an event
 * older than a tombstone lives is refused as stale. A message needs only its record's id:
 * a record without a user is stored unlinked, and fields not stored as Alma sent them are
 * logged.
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
import { BudgetExhaustedError, TimeBudget } from "../lib/budget";
import { logger } from "../lib/logger";
import { parseSnsMessages } from "../lib/sns";
import { isSqsEvent, parseQueuedSnsMessages, type SqsBatchResponse } from "../lib/sqs";
import { addToUser, type AlmaCacheClients, closeRecord, type IdList, type Outcome, putRecord, removeFromUser, tooOld } from "./cache";
import { type CacheRecord, eventTimeMs, loanMessage, loanRecord, requestMessage, requestRecord } from "./schema";

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
  /** The record a message carries. */
  record: (message: z.infer<S>, nowMs: number) => CacheRecord;
  table: "loans" | "requests";
  keyName: "loan_id" | "request_id";
  list: IdList;
  /** An update writes the item and links it to its user; a close deletes it and unlinks it. */
  change: "update" | "close";
}

/** A handler: an SQS batch is answered with its failed records, an SNS event with its outcome counts. */
export interface CacheHandler {
  (event: { Records: { messageId: string; body: string }[] }, context?: unknown): Promise<SqsBatchResponse>;
  (event: unknown, context?: unknown): Promise<CacheResult>;
}

/** Kept back from the invocation's deadline, to answer the batch with the records that did not finish. */
const BUDGET_MARGIN_MS = 2_000;

const emptyResult = (records: number): CacheResult => ({
  records,
  linked: 0,
  unlinked: 0,
  unchanged: 0,
  queued: 0,
  unlinkedRecord: 0,
  stale: 0,
});

/** Where a message came from: when SNS received it, and what its log lines name it by. */
interface Delivery {
  snsTimestamp?: string;
  log: Record<string, unknown>;
}

/**
 * Applies one message: its item (unless the event is stale), then its user's list. Fields not
 * stored as Alma sent them, and a stale event with its reason, are logged.
 */
export async function applyMessage<S extends z.ZodMiniType>(
  fn: CacheFunction<S>,
  clients: AlmaCacheClients,
  message: z.infer<S>,
  delivery: Delivery,
  budget: TimeBudget,
): Promise<Outcome> {
  const nowMs = clients.now();
  const record = fn.record(message, nowMs);
  const eventMs = eventTimeMs(message as { time?: unknown }, delivery.snsTimestamp, nowMs, record.notes);
  const log = { ...delivery.log, [fn.keyName]: record.id };
  if (record.notes.length > 0) logger.warn("fields not stored as Alma sent them", { ...log, fields: record.notes });
  const ref = { table: clients.tables[fn.table], keyName: fn.keyName, id: record.id };
  const stale =
    tooOld(eventMs, nowMs) ??
    (fn.change === "update" ? await putRecord(clients, ref, record.item, eventMs) : await closeRecord(clients, ref, eventMs));
  if (stale) {
    logger.warn("stale event: item and list left as they are", { ...log, eventTime: new Date(eventMs).toISOString(), reason: stale });
    return "stale";
  }
  if (record.userId === undefined) return "unlinkedRecord";
  return fn.change === "update"
    ? addToUser(clients, record.userId, fn.list, record.id)
    : removeFromUser(clients, record.userId, fn.list, record.id, budget);
}

/** Thrown when no record of a batch could be applied: the whole batch is retried, and the function's errors alarm sees it. */
export class BatchFailedError extends Error {
  constructor(readonly failures: { messageId: string; error: string }[]) {
    super(`every record of the batch failed (${failures.length}): ${failures.map((f) => `${f.messageId}: ${f.error}`).join("; ")}`);
    this.name = "BatchFailedError";
  }
}

const errorText = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/**
 * Applies an SQS batch, record by record in order, and returns the answer Lambda expects
 * with the outcome counts beside it. A record not started before `budget` ran out fails, to
 * be handed out again. Throws only when the envelope is invalid or every record failed.
 */
export async function applyBatch<S extends z.ZodMiniType>(
  fn: CacheFunction<S>,
  clients: AlmaCacheClients,
  event: unknown,
  budget: TimeBudget = TimeBudget.unbounded(),
): Promise<{ response: SqsBatchResponse; result: BatchResult }> {
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
    const log = { ...where, topicArn: record.topicArn, snsMessageId: record.snsMessageId };
    try {
      if (budget.exhausted()) throw new BudgetExhaustedError("the record could be started");
      result[await applyMessage(fn, clients, record.message, { snsTimestamp: record.timestamp, log }, budget)] += 1;
    } catch (err) {
      const error = errorText(err);
      logger.error("message failed: it is retried, then kept in the failed-events queue", { ...log, error });
      failures.push({ messageId: record.messageId, error });
    }
  }
  result.failed = failures.length;
  if (records.length > 0 && failures.length === records.length) throw new BatchFailedError(failures);
  return { response: { batchItemFailures: failures.map((f) => ({ itemIdentifier: f.messageId })) }, result };
}

/** Applies an SNS event: all records validated first, then applied in order; any failure throws. */
export async function applySnsEvent<S extends z.ZodMiniType>(
  fn: CacheFunction<S>,
  clients: AlmaCacheClients,
  event: unknown,
  budget: TimeBudget = TimeBudget.unbounded(),
): Promise<CacheResult> {
  const messages = parseSnsMessages(event, fn.schema, fn.what);
  const result = emptyResult(messages.length);
  for (const { message, messageId, timestamp, index } of messages) {
    result[
      await applyMessage(fn, clients, message, { snsTimestamp: timestamp, log: { record: index, snsMessageId: messageId } }, budget)
    ] += 1;
  }
  return result;
}

function cacheHandler<S extends z.ZodMiniType>(fn: CacheFunction<S>): (clients: AlmaCacheClients) => CacheHandler {
  return (clients) =>
    (async (event: unknown, context?: unknown) => {
      const budget = TimeBudget.fromContext(context, BUDGET_MARGIN_MS);
      if (!isSqsEvent(event)) return applySnsEvent(fn, clients, event, budget);
      const { response, result } = await applyBatch(fn, clients, event, budget);
      // One line per invocation with the outcome counts (stale events included), for Logs Insights.
      logger.info("batch applied", { ...result });
      return response;
    }) as CacheHandler;
}

const LOANS = {
  schema: loanMessage,
  what: "Alma loan message",
  record: loanRecord,
  table: "loans",
  keyName: "loan_id",
  list: "loan_ids",
} as const;
const REQUESTS = {
  schema: requestMessage,
  what: "Alma request message",
  record: requestRecord,
  table: "requests",
  keyName: "request_id",
  list: "request_ids",
} as const;

export const LOAN_UPDATED: CacheFunction<typeof loanMessage> = { ...LOANS, change: "update" };
export const LOAN_RETURNED: CacheFunction<typeof loanMessage> = { ...LOANS, change: "close" };
export const REQUEST_UPDATED: CacheFunction<typeof requestMessage> = { ...REQUESTS, change: "update" };
export const REQUEST_CLOSED: CacheFunction<typeof requestMessage> = { ...REQUESTS, change: "close" };

export const loanUpdated = cacheHandler(LOAN_UPDATED);
export const loanReturned = cacheHandler(LOAN_RETURNED);
export const requestUpdated = cacheHandler(REQUEST_UPDATED);
export const requestClosed = cacheHandler(REQUEST_CLOSED);
