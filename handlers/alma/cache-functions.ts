/**
 * The four cache functions: each takes the Alma messages of an SNS event and keeps the
 * cache current. Every record is validated before any is written; records are then handled
 * in order. A failure throws, so that Lambda's retries and then the failure queue keep the
 * event; every step is idempotent, so a retried event converges.
 */
import type * as z from "zod/mini";
import { parseSnsMessages } from "../lib/sns";
import { addToUser, type AlmaCacheClients, closeRecord, type Outcome, putRecord, removeFromUser } from "./cache";
import { eventTimeMs, loanItem, loanMessage, requestItem, requestMessage } from "./schema";

export type CacheResult = { records: number } & Record<Outcome, number>;

type Apply<M> = (clients: AlmaCacheClients, message: M) => Promise<Outcome>;

function cacheHandler<S extends z.ZodMiniType>(schema: S, what: string, apply: Apply<z.infer<S>>) {
  return (clients: AlmaCacheClients) =>
    async (event: unknown): Promise<CacheResult> => {
      const messages = parseSnsMessages(event, schema, what);
      const result: CacheResult = { records: messages.length, linked: 0, unlinked: 0, unchanged: 0, queued: 0, stale: 0 };
      for (const { message } of messages) result[await apply(clients, message)] += 1;
      return result;
    };
}

export const loanUpdated = cacheHandler(loanMessage, "Alma loan message", async (clients, message) => {
  const { loan_id, user_id } = message.item_loan;
  const ref = { table: clients.tables.loans, keyName: "loan_id" as const, id: loan_id };
  if (!(await putRecord(clients, ref, loanItem(message), eventTimeMs(message)))) return "stale";
  return addToUser(clients, user_id, "loan_ids", loan_id);
});

export const loanReturned = cacheHandler(loanMessage, "Alma loan message", async (clients, message) => {
  const { loan_id, user_id } = message.item_loan;
  const ref = { table: clients.tables.loans, keyName: "loan_id" as const, id: loan_id };
  if (!(await closeRecord(clients, ref, eventTimeMs(message)))) return "stale";
  return removeFromUser(clients, user_id, "loan_ids", loan_id);
});

export const requestUpdated = cacheHandler(requestMessage, "Alma request message", async (clients, message) => {
  const { request_id, user_primary_id } = message.user_request;
  const ref = { table: clients.tables.requests, keyName: "request_id" as const, id: request_id };
  if (!(await putRecord(clients, ref, requestItem(message, clients.now()), eventTimeMs(message)))) return "stale";
  return addToUser(clients, user_primary_id, "request_ids", request_id);
});

export const requestClosed = cacheHandler(requestMessage, "Alma request message", async (clients, message) => {
  const { request_id, user_primary_id } = message.user_request;
  const ref = { table: clients.tables.requests, keyName: "request_id" as const, id: request_id };
  if (!(await closeRecord(clients, ref, eventTimeMs(message)))) return "stale";
  return removeFromUser(clients, user_primary_id, "request_ids", request_id);
});
