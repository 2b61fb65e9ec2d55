/**
 * The Alma cache's data contract, written down once: the items of the users, loans and
 * requests tables exactly as LAG-Alma-Utils v0.7 (dynamoose 0.8.7) stores them, because
 * LAG-bulk-update-cache writes the same tables and LAG-api-gateway reads them through those
 * schemas. The webhook and the cache functions validate Alma's messages with schemas derived
 * from the same attributes, so that the webhook refuses what the cache would.
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

/** LAG-Alma-Utils' UserSchema: hash key `primary_id`; TTL and validity `expiry_date`. */
export const USER_ATTRIBUTES = { primary_id: LOWER, loan_ids: LIST, request_ids: LIST, fee_ids: LIST, expiry_date: N } satisfies Attributes;

/** LAG-Alma-Utils' LoanSchema: hash key `loan_id`; TTL and validity `expiry_date` (the due date). */
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

/** LAG-Alma-Utils' RequestSchema: hash key `request_id`; TTL and validity `record_expiry_date`. `expiry_date` is Alma's own. */
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

/** How long a cached request lives, from when it is written (LAG-Alma-Utils: two weeks). */
export const REQUEST_TTL_SECONDS = 14 * 24 * 3600;

/**
 * Not a schema attribute: the time (ms) of the Alma event that last wrote a loan or request,
 * so that an older event never overwrites it. dynamoose ignores it on read.
 */
export const EVENT_TIME_ATTRIBUTE = "alma_event_time_ms";

const isEmpty = (value: unknown) => value === undefined || value === null || value === "";

/** A scalar as dynamoose stores it in a String attribute. */
function asString(value: unknown, attribute: Attribute): string {
  const text = String(value);
  return attribute.lowercase ? text.toLowerCase() : text;
}

/** The item dynamoose would write for `values`: the schema's attributes only, with its types. */
export function toItem(attributes: Attributes, values: Record<string, unknown>): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  for (const [name, attribute] of Object.entries(attributes)) {
    const value = values[name];
    if (isEmpty(value)) continue;
    switch (attribute.type) {
      case "string":
        item[name] = asString(value, attribute);
        break;
      case "number":
        item[name] = Number(value);
        break;
      case "boolean":
        item[name] = value;
        break;
      case "stringList":
        item[name] = (value as unknown[]).filter((v) => !isEmpty(v)).map((v) => String(v));
        break;
      case "valueDescMap": {
        const map = value as { value?: unknown; desc?: unknown };
        const kept: Record<string, string> = {};
        for (const key of ["value", "desc"] as const) if (!isEmpty(map[key])) kept[key] = String(map[key]);
        item[name] = kept;
        break;
      }
    }
  }
  return item;
}

// ---------------------------------------------------------------------------------------------
// The messages: Alma's webhook bodies, as the webhook receives them and SNS delivers them.

/** DynamoDB allows 2048 bytes in a key; Alma's ids are a few dozen characters. */
export const MAX_ID_LENGTH = 256;

const id = z
  .string()
  .check(z.minLength(1, "must not be empty"), z.maxLength(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`));
const finiteNumber = z.number().check(z.refine(Number.isFinite, "must be a finite number"));
/** What a String attribute accepts: text, or a number or boolean that is stored as text. */
const scalar = z.optional(
  z.nullable(
    z.custom<string | number | boolean>(
      (v) => typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)),
      { error: (issue) => (typeof issue.input === "number" ? "must be a finite number" : "must be text, a number or a boolean") },
    ),
  ),
);
const FIELD_SCHEMAS = {
  string: scalar,
  number: z.optional(z.nullable(finiteNumber)),
  boolean: z.optional(z.nullable(z.boolean())),
  stringList: z.optional(z.nullable(z.array(z.string()))),
  valueDescMap: z.optional(z.nullable(z.object({ value: scalar, desc: scalar }))),
} satisfies Record<AttributeType, z.ZodMiniType>;

type RecordShape<A extends Attributes, Id extends keyof A, Computed extends keyof A> = {
  [K in Exclude<keyof A, Computed>]: K extends Id ? typeof id : (typeof FIELD_SCHEMAS)[A[K]["type"]];
};

/** The part of a message that one record's attributes come from: required ids, and every other attribute checked by its type. */
function recordSchema<A extends Attributes, Id extends keyof A & string, Computed extends keyof A & string>(
  attributes: A,
  ids: Id[],
  computed: Computed[],
) {
  const shape: Record<string, z.ZodMiniType> = {};
  for (const [name, attribute] of Object.entries(attributes)) {
    if ((computed as string[]).includes(name)) continue;
    shape[name] = (ids as string[]).includes(name) ? id : FIELD_SCHEMAS[attribute.type];
  }
  return z.object(shape as RecordShape<A, Id, Computed>);
}

/** An ISO 8601 time, such as Alma's event `time`. */
const isoTime = z.string().check(z.refine((t) => !Number.isNaN(Date.parse(t)), "must be an ISO 8601 time"));

/** A due date that moment's `YYYY-MM-DDTHH:mm:ssZ` would read. */
const dueDate = z.optional(
  z.nullable(z.string().check(z.refine((d) => d === "" || dueDateSeconds(d) !== undefined, "must be a date such as 2018-02-23T14:10:06Z"))),
);

export const loanMessage = z.object({
  time: z.optional(isoTime),
  item_loan: z.extend(recordSchema(LOAN_ATTRIBUTES, ["loan_id", "user_id"], ["expiry_date"]), { due_date: dueDate }),
});
export type LoanMessage = z.infer<typeof loanMessage>;

export const requestMessage = z.object({
  time: z.optional(isoTime),
  user_request: recordSchema(REQUEST_ATTRIBUTES, ["request_id", "user_primary_id"], ["record_expiry_date"]),
});
export type RequestMessage = z.infer<typeof requestMessage>;

/**
 * Unix seconds of a due date, as `moment(due, 'YYYY-MM-DDTHH:mm:ssZ').unix()` gives them on
 * Lambda (UTC): a time without an offset is UTC; fractions of a second are dropped.
 */
export function dueDateSeconds(due: string): number | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2})?)(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(due.trim());
  if (!match) return undefined;
  const [, date, time = "00:00:00", , offset = "Z"] = match;
  const ms = Date.parse(`${date}T${time.length === 5 ? `${time}:00` : time}${offset.length === 5 ? `${offset.slice(0, 3)}:${offset.slice(3)}` : offset}`);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** The Alma event's time in ms, when the message carries one. */
export function eventTimeMs(message: { time?: string }): number | undefined {
  return message.time === undefined ? undefined : Date.parse(message.time);
}

/** The loan item of a message: the schema's attributes, and the expiry LAG-Alma-Utils computes from the due date. */
export function loanItem({ item_loan: loan }: LoanMessage): Record<string, unknown> {
  const due = typeof loan.due_date === "string" && loan.due_date !== "" ? dueDateSeconds(loan.due_date) : undefined;
  return toItem(LOAN_ATTRIBUTES, { ...loan, expiry_date: due ?? 0 });
}

/** The request item of a message; it expires two weeks after it is written, as LAG-Alma-Utils has it. */
export function requestItem({ user_request: request }: RequestMessage, nowMs: number): Record<string, unknown> {
  return toItem(REQUEST_ATTRIBUTES, { ...request, record_expiry_date: Math.floor(nowMs / 1000) + REQUEST_TTL_SECONDS });
}
