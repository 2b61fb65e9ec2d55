/**
 * The Alma cache's data contract, written down once: the items of the users, loans and
 * requests tables exactly as the neighbours' schemas store them (docs/apps/alma.md names
 * them), because the bulk-update service writes the same tables and the API gateway reads
 * them through those schemas. The webhook and the cache functions read Alma's messages with the same schemas:
 * only a record's id is required, so the webhook refuses only what the cache could not store
 * at all, and every other field is stored as dynamoose stores it, or left out and noted.
 *
 * dynamoose's rules, kept here: only the schema's attributes are stored; a String attribute
 * is stored as a string (numbers and booleans converted); booleans are native; null, undefined
 * and "" are left out; `lowercase` attributes are lower-cased; lists are DynamoDB Lists.
 */
import * as z from "zod/mini";

/** How one attribute is stored. */
export type AttributeType = "string" | "number" | "boolean" | "stringList" | "valueDescMap";

export interface Attribute {
  type: AttributeType;
  /** Stored lower-cased (user ids). */
  lowercase?: true;
}

export type Attributes = Record<string, Attribute>;

const S: Attribute = { type: "string" };
const LOWER: Attribute = { type: "string", lowercase: true };
const N: Attribute = { type: "number" };
const LIST: Attribute = { type: "stringList" };
const VALUE_DESC: Attribute = { type: "valueDescMap" };

/** The neighbours' UserSchema: hash key `primary_id`; TTL and validity `expiry_date`. */
export const USER_ATTRIBUTES = { primary_id: LOWER, loan_ids: LIST, request_ids: LIST, fee_ids: LIST, expiry_date: N } satisfies Attributes;

/** The neighbours' LoanSchema: hash key `loan_id`; TTL and validity `expiry_date` (the due date). */
export const LOAN_ATTRIBUTES = {
  loan_id: S,
  user_id: LOWER,
  renewable: { type: "boolean" },
  call_number: S,
  loan_status: S,
  due_date: S,
  expiry_date: N,
  item_barcode: S,
  mms_id: S,
  title: S,
  author: S,
  description: S,
  publication_year: S,
  process_status: S,
} satisfies Attributes;

/** The neighbours' RequestSchema: hash key `request_id`; TTL and validity `record_expiry_date`. `expiry_date` is Alma's own. */
export const REQUEST_ATTRIBUTES = {
  request_id: S,
  user_primary_id: LOWER,
  request_type: S,
  request_sub_type: VALUE_DESC,
  request_status: S,
  pickup_location: S,
  pickup_location_type: S,
  pickup_location_library: S,
  material_type: VALUE_DESC,
  comment: S,
  place_in_queue: S,
  request_date: S,
  expiry_date: S,
  barcode: S,
  mms_id: S,
  title: S,
  author: S,
  description: S,
  resource_sharing: S,
  process_status: S,
  record_expiry_date: N,
} satisfies Attributes;

/** How long a cached request lives, from when it is written: two weeks, as the neighbours' schema has it. */
export const REQUEST_TTL_SECONDS = 14 * 24 * 3600;

/**
 * Not a schema attribute: the time (ms) of the Alma event that last wrote a loan or request,
 * so that an older event never overwrites it. dynamoose ignores it on read.
 */
export const EVENT_TIME_ATTRIBUTE = "alma_event_time_ms";

/** A field of a message that is not stored as Alma sent it, and why: logged, never refused. */
export interface FieldNote {
  /** `item_loan.title` */
  field: string;
  note: string;
}

const isEmpty = (value: unknown) => value === undefined || value === null || value === "";
type Scalar = string | number | boolean;
const isScalar = (value: unknown): value is Scalar => typeof value === "string" || typeof value === "number" || typeof value === "boolean";
const kindOf = (value: unknown) => (Array.isArray(value) ? "a list" : typeof value === "object" ? "an object" : `a ${typeof value}`);

/**
 * The item dynamoose writes for `values`: the schema's attributes only, with its types.
 * A scalar in a String attribute is stored as its text, as dynamoose's `toString()` stores it
 * (`1` → `"1"`, `true` → `"true"`, `1e400` → `"Infinity"`). What dynamoose cannot store
 * usefully is left out and noted: a list or object in a String attribute (it writes
 * `"[object Object]"`), anything but a boolean in `renewable` (its save fails), a value/desc
 * map that is not an object.
 */
export function toItem(attributes: Attributes, values: Record<string, unknown>, at = "", notes: FieldNote[] = []): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  const leftOut = (name: string, value: unknown, expected: string) =>
    notes.push({ field: `${at}${name}`, note: `is ${kindOf(value)}, not ${expected}: left out` });
  for (const [name, attribute] of Object.entries(attributes)) {
    const value = values[name];
    if (isEmpty(value)) continue;
    switch (attribute.type) {
      case "string":
        if (!isScalar(value)) leftOut(name, value, "text, a number or a boolean");
        else item[name] = attribute.lowercase ? String(value).toLowerCase() : String(value);
        break;
      case "number":
        item[name] = Number(value);
        break;
      case "boolean":
        if (typeof value !== "boolean") leftOut(name, value, "a boolean");
        else item[name] = value;
        break;
      case "stringList":
        if (!Array.isArray(value)) leftOut(name, value, "a list");
        else
          item[name] = value
            .filter(isScalar)
            .filter((v) => !isEmpty(v))
            .map(String);
        break;
      case "valueDescMap":
        if (typeof value !== "object" || Array.isArray(value)) leftOut(name, value, "an object of value and desc");
        else item[name] = toItem({ value: S, desc: S }, value as Record<string, unknown>, `${at}${name}.`, notes);
        break;
    }
  }
  return item;
}

// ---------------------------------------------------------------------------------------------
// The messages: Alma's webhook bodies, as the webhook receives them and SNS delivers them.
// Only what makes a record storable at all is required: its id. Everything else is stored as
// the neighbours' schemas store it, or left out and noted.

/** DynamoDB's limit on a partition key, which the tombstone's key (`request:<id>`) must fit too. */
export const MAX_ID_BYTES = 2048 - "request:".length;

/** A record id: text, or a number, stored as its text (a String attribute of the schemas). */
const recordId = z
  .custom<string | number>((v) => (typeof v === "string" && v !== "") || (typeof v === "number" && Number.isFinite(v)), {
    error: (issue) =>
      issue.input === undefined || issue.input === null
        ? "is required"
        : issue.input === ""
          ? "must not be empty"
          : "must be text or a number",
  })
  .check(z.refine((v) => Buffer.byteLength(String(v)) <= MAX_ID_BYTES, `must be at most ${MAX_ID_BYTES} bytes`));

export const loanMessage = z.object({ time: z.optional(z.unknown()), item_loan: z.looseObject({ loan_id: recordId }) });
export type LoanMessage = z.infer<typeof loanMessage>;

export const requestMessage = z.object({ time: z.optional(z.unknown()), user_request: z.looseObject({ request_id: recordId }) });
export type RequestMessage = z.infer<typeof requestMessage>;

/** What one message asks the cache to store. */
export interface CacheRecord {
  id: string;
  /** The user as Alma sent it (the users queue gets it so); none when the message names no user. */
  userId?: string;
  item: Record<string, unknown>;
  /** Fields not stored as Alma sent them. */
  notes: FieldNote[];
}

/** The user a record links to: a scalar id, as text; otherwise none, and a note. */
function userOf(value: unknown, field: string, notes: FieldNote[]): string | undefined {
  if (isScalar(value) && value !== "") return String(value);
  notes.push({
    field,
    note: isEmpty(value) ? "is missing: stored without a user link" : `is ${kindOf(value)}: stored without a user link`,
  });
  return undefined;
}

/** The loan a message carries; its expiry is the due date in unix seconds (see dueDateSeconds), or 0. */
export function loanRecord({ item_loan: loan }: LoanMessage): CacheRecord {
  const notes: FieldNote[] = [];
  const due = loan.due_date;
  let expiry = 0;
  if (isScalar(due) && due !== "") {
    const seconds = dueDateSeconds(String(due));
    if (seconds === undefined)
      notes.push({ field: "item_loan.due_date", note: `${JSON.stringify(due)} is not a date we read: expiry_date 0` });
    expiry = seconds ?? 0;
  }
  const item = toItem(LOAN_ATTRIBUTES, { ...loan, expiry_date: expiry }, "item_loan.", notes);
  return { id: String(loan.loan_id), userId: userOf(loan.user_id, "item_loan.user_id", notes), item, notes };
}

/** The request a message carries; it expires two weeks after it is written. */
export function requestRecord({ user_request: request }: RequestMessage, nowMs: number): CacheRecord {
  const notes: FieldNote[] = [];
  const item = toItem(
    REQUEST_ATTRIBUTES,
    { ...request, record_expiry_date: Math.floor(nowMs / 1000) + REQUEST_TTL_SECONDS },
    "user_request.",
    notes,
  );
  return { id: String(request.request_id), userId: userOf(request.user_primary_id, "user_request.user_primary_id", notes), item, notes };
}

/** Unix seconds of a calendar date and time at a UTC offset (minutes), or undefined for one that does not exist. */
function utcSeconds(y: string, mo: string, d: string, h = "0", mi = "0", s = "0", offsetMinutes = 0): number | undefined {
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number);
  // Date.UTC would roll 30 February over into March; moment refused it. 24:00:00 is the next
  // day's midnight, for both.
  const named = new Date(Date.UTC(year, month - 1, day));
  if (named.getUTCFullYear() !== year || named.getUTCMonth() !== month - 1 || named.getUTCDate() !== day) return undefined;
  if ((hour > 23 && !(hour === 24 && minute === 0 && second === 0)) || minute > 59 || second > 59) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second) / 1000 - offsetMinutes * 60;
}

/**
 * Unix seconds of a due date in the forms Alma sends, read as the neighbours' schemas'
 * `moment(due, 'YYYY-MM-DDTHH:mm:ssZ')` reads them on Lambda (UTC), so that both writers agree:
 * - ISO 8601 with or without a zone (`2018-02-23T14:10:06Z`, `…+01:00`, `…+0100`,
 *   `2018-02-23T14:10:06`), minutes without seconds, a date alone (`2018-02-23`, `2018-02-23Z`);
 * - `2018-02-23 14:10:06`;
 * - `23/02/2018` (with an optional `HH:mm[:ss]`), which moment misread as 20 February 2023.
 * A time without a zone is UTC; fractions of a second are dropped. Anything else (moment also
 * took `2018` or `20180223`) is not read: undefined.
 */
export function dueDateSeconds(due: string): number | undefined {
  const text = due.trim();
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(text);
  if (iso) {
    const [, y, mo, d, h, mi, s, zone] = iso;
    let offset = 0;
    if (zone && zone.toUpperCase() !== "Z") {
      const digits = zone.slice(1).replace(":", "");
      offset = (zone[0] === "-" ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0));
    }
    return utcSeconds(y, mo, d, h, mi, s, offset);
  }
  const dmy = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (dmy) {
    const [, d, mo, y, h, mi, s] = dmy;
    return utcSeconds(y, mo, d, h, mi, s);
  }
  return undefined;
}

/**
 * The time that orders an event (ms): Alma's `time`, or else when SNS received the message
 * (its `Timestamp`), or else now, so that no event skips the ordering check.
 */
export function eventTimeMs(message: { time?: unknown }, snsTimestamp: string | undefined, nowMs: number, notes: FieldNote[] = []): number {
  if (message.time !== undefined) {
    const ms = typeof message.time === "string" ? Date.parse(message.time) : Number.NaN;
    if (!Number.isNaN(ms)) return ms;
    notes.push({ field: "time", note: `${JSON.stringify(message.time)} is not an ISO 8601 time: ordered by the SNS message's Timestamp` });
  }
  const sns = snsTimestamp === undefined ? Number.NaN : Date.parse(snsTimestamp);
  return Number.isNaN(sns) ? nowMs : sns;
}
