/**
 * The four cache functions: each takes the Alma messages of an SNS event and keeps the
 * cache current. Every record is validated before any is written; records are then handled
 * in order. A failure throws, so that Lambda's retries and then the failure queue keep the
 * event; every step is idempotent, so a retried event converges.
 */
import type * as z from "zod/mini";
import { parseSnsMessages } from "../sns";
import { type AlmaCacheClients, deleteItem, putItem, type UserOutcome, updateUserList } from "./cache";
import { loanMessage, loanRecord, requestMessage, requestRecord } from "./messages";

export interface CacheResult {
  records: number;
  linked: number;
  queued: number;
}

type Apply<M> = (clients: AlmaCacheClients, message: M) => Promise<UserOutcome>;

function cacheHandler<S extends z.ZodMiniType>(schema: S, what: string, apply: Apply<z.infer<S>>) {
  return (clients: AlmaCacheClients) =>
    async (event: unknown): Promise<CacheResult> => {
      const messages = parseSnsMessages(event, schema, what);
      const result: CacheResult = { records: messages.length, linked: 0, queued: 0 };
      for (const { message } of messages) result[await apply(clients, message)] += 1;
      return result;
    };
}

export const loanUpdated = cacheHandler(loanMessage, "Alma loan message", async (clients, message) => {
  const loan = loanRecord(message);
  await putItem(clients, clients.tables.loans, loan);
  return updateUserList(clients, loan.user_id as string, "loan_ids", "ADD", message.item_loan.loan_id);
});

export const loanReturned = cacheHandler(loanMessage, "Alma loan message", async (clients, message) => {
  const { loan_id, user_id } = message.item_loan;
  await deleteItem(clients, clients.tables.loans, { loan_id });
  return updateUserList(clients, user_id.toLowerCase(), "loan_ids", "DELETE", loan_id);
});

export const requestUpdated = cacheHandler(requestMessage, "Alma request message", async (clients, message) => {
  const request = requestRecord(message, clients.now);
  await putItem(clients, clients.tables.requests, request);
  return updateUserList(clients, request.user_primary_id as string, "request_ids", "ADD", message.user_request.request_id);
});

export const requestClosed = cacheHandler(requestMessage, "Alma request message", async (clients, message) => {
  const { request_id, user_primary_id } = message.user_request;
  await deleteItem(clients, clients.tables.requests, { request_id });
  return updateUserList(clients, user_primary_id.toLowerCase(), "request_ids", "DELETE", request_id);
});
