/**
 * The real payloads the tests use, copied into the repository (see test/fixtures/payloads/README.md).
 * Nothing outside the repository is read: a clone anywhere, and the GitHub workflow, find them here.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { AlmaEvent } from "../../handlers/lib/env-names";
import { PAYLOADS_DIR } from "../../paths";

export { PAYLOADS_DIR };

/** The absolute path of a payload, for example `payloadPath("alma-webhook", "loan_created_event.json")`. */
export function payloadPath(...parts: string[]): string {
  return path.join(PAYLOADS_DIR, ...parts);
}

/** A payload parsed as JSON. */
export function readPayload<T = any>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(payloadPath(...parts), "utf8")) as T;
}

/** The captured Alma webhook delivery of each loan and request event. */
const ALMA_DELIVERY_OF: Partial<Record<AlmaEvent, string>> = {
  LOAN_CREATED: "loan_created_event",
  LOAN_RENEWED: "loan_renewed_event",
  LOAN_DUE_DATE: "loan_due_date_event",
  LOAN_RETURNED: "loan_returned_event",
  REQUEST_CREATED: "request_created_event",
  REQUEST_PLACED_ON_SHELF: "request_placed_on_shelf_event",
  REQUEST_CLOSED: "request_closed_event",
  REQUEST_CANCELED: "request_canceled_event",
};

/** The body of the captured delivery of `event`, dated `timeMs`. */
function almaDeliveryBody(event: AlmaEvent, timeMs: number): any {
  const body = JSON.parse(readPayload("alma-webhook", `${ALMA_DELIVERY_OF[event]!}.json`).body);
  body.time = new Date(timeMs).toISOString();
  return body;
}

/** A loan event's webhook body for loan `id` of `user`, dated `timeMs` and due `dueDays` later. */
export function almaLoanBody(event: AlmaEvent, user: string, id: string, timeMs: number, dueDays: number): string {
  const body = almaDeliveryBody(event, timeMs);
  Object.assign(body.item_loan, {
    loan_id: id,
    user_id: user,
    due_date: new Date(timeMs + dueDays * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z"),
    title: `Title of ${id}`,
  });
  return JSON.stringify(body);
}

/** A request event's webhook body for request `id` of `user`, dated `timeMs`, with `status` when given. */
export function almaRequestBody(event: AlmaEvent, user: string, id: string, timeMs: number, status?: string): string {
  const body = almaDeliveryBody(event, timeMs);
  Object.assign(body.user_request, {
    request_id: id,
    user_primary_id: user,
    ...(status && { request_status: status }),
    title: `Request ${id}`,
  });
  return JSON.stringify(body);
}
