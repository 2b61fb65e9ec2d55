/**
 * The Alma webhook messages the cache functions read (the webhook's raw body, as the SNS
 * Message), and the cache records made from them.
 */
import * as z from "zod/mini";

const id = z.string().check(z.minLength(1, "must not be empty"));
/** Descriptive fields are cached as Alma sends them; only keys and dates are checked. */
const field = z.optional(z.unknown());
const date = z.optional(z.nullable(z.string()));

export const loanMessage = z.object({
  time: z.optional(z.string()),
  item_loan: z.object({
    loan_id: id,
    user_id: id,
    renewable: field,
    call_number: field,
    loan_status: field,
    due_date: date,
    item_barcode: field,
    mms_id: field,
    title: field,
    author: field,
    description: field,
    publication_year: field,
    process_status: field,
  }),
});
export type LoanMessage = z.infer<typeof loanMessage>;

export const requestMessage = z.object({
  time: z.optional(z.string()),
  user_request: z.object({
    request_id: id,
    user_primary_id: id,
    request_type: field,
    request_sub_type: field,
    request_status: field,
    pickup_location: field,
    pickup_location_type: field,
    pickup_location_library: field,
    material_type: field,
    place_in_queue: field,
    request_date: field,
    expiry_date: field,
    comment: field,
    resource_sharing: field,
    process_status: field,
    barcode: field,
    mms_id: field,
    title: field,
    author: field,
    description: field,
  }),
});
export type RequestMessage = z.infer<typeof requestMessage>;

/** How long a cached request lives after its event. */
export const REQUEST_TTL_SECONDS = 14 * 24 * 3600;

function unixSeconds(iso: string | null | undefined): number | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** Drops absent fields: DynamoDB stores no `undefined`. */
function defined<T extends Record<string, unknown>>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;
}

export function loanRecord({ item_loan: loan }: LoanMessage): Record<string, unknown> {
  return defined({
    loan_id: loan.loan_id,
    user_id: loan.user_id.toLowerCase(),
    renewable: loan.renewable,
    call_number: loan.call_number,
    loan_status: loan.loan_status,
    due_date: loan.due_date,
    item_barcode: loan.item_barcode,
    mms_id: loan.mms_id,
    title: loan.title,
    author: loan.author,
    description: loan.description,
    publication_year: loan.publication_year,
    process_status: loan.process_status,
    // The table's TTL attribute: the loan leaves the cache when it falls due (0: never).
    expiry_date: unixSeconds(loan.due_date) ?? 0,
  });
}

/**
 * The request record. Its TTL counts from the event's own time, not from when it is
 * handled, so that a redelivered event writes exactly the same item.
 */
export function requestRecord({ user_request: request, time }: RequestMessage, now: () => number): Record<string, unknown> {
  const from = unixSeconds(time) ?? Math.floor(now() / 1000);
  return defined({
    request_id: request.request_id,
    user_primary_id: request.user_primary_id.toLowerCase(),
    request_type: request.request_type,
    request_sub_type: request.request_sub_type,
    request_status: request.request_status,
    pickup_location: request.pickup_location,
    pickup_location_type: request.pickup_location_type,
    pickup_location_library: request.pickup_location_library,
    material_type: request.material_type,
    place_in_queue: request.place_in_queue,
    request_date: request.request_date,
    expiry_date: request.expiry_date,
    comment: request.comment,
    resource_sharing: request.resource_sharing,
    process_status: request.process_status,
    barcode: request.barcode,
    mms_id: request.mms_id,
    title: request.title,
    author: request.author,
    description: request.description,
    record_expiry_date: from + REQUEST_TTL_SECONDS,
  });
}
