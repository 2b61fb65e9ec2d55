/**
 * CloudEvents for iota, as @1mill/cloudevents v6 builds them: reading the triggering event
 * (bare, or inside an EventBridge envelope) and building the events a function stages.
 */
import { v7 as uuidv7 } from "uuid";
import { CLOUDEVENT_DETAIL_TYPE } from "../lib/env-names";

export { CLOUDEVENT_DETAIL_TYPE };
/** EventBridge refuses an entry larger than 256 KiB. */
export const MAX_ENTRY_BYTES = 256 * 1024;

export interface CloudEvent {
  specversion?: string;
  id: string;
  source: string;
  type: string;
  time?: string;
  datacontenttype?: string;
  data?: unknown;
  originid?: string;
  originsource?: string;
  origintime?: string;
  origintype?: string;
  [attribute: string]: unknown;
}

/** An event that cannot be applied as given; retrying it cannot help. */
export class IotaInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IotaInputError";
  }
}

/**
 * The CloudEvent of a Lambda event: `event.detail` when it came through EventBridge, else
 * the event itself. Its attribute names become journal paths, so they must be plain names.
 */
export function cloudEventOf(event: unknown): CloudEvent {
  const outer = (typeof event === "object" && event !== null ? event : {}) as Record<string, unknown>;
  const viaEventBridge = "detail-type" in outer && typeof outer.detail === "object" && outer.detail !== null;
  const candidate = (viaEventBridge ? outer.detail : outer) as Record<string, unknown>;
  const where = viaEventBridge ? "event.detail" : "event";
  for (const field of ["id", "source", "type"] as const) {
    if (typeof candidate[field] !== "string" || candidate[field] === "") {
      throw new IotaInputError(`${where}.${field} must be a non-empty string (got ${JSON.stringify(candidate[field]) ?? "undefined"})`);
    }
  }
  const bad = Object.keys(candidate).find((name) => name.includes(".") || name.startsWith("$"));
  if (bad !== undefined) throw new IotaInputError(`${where}: attribute name ${JSON.stringify(bad)} is not a CloudEvents attribute name`);
  return candidate as CloudEvent;
}

/** `data`, parsed when it is a JSON string declared as application/json (as with-iota reads it). */
export function dataOf(cloudevent: CloudEvent): unknown {
  if (cloudevent.datacontenttype === "application/json" && typeof cloudevent.data === "string") {
    try {
      return JSON.parse(cloudevent.data);
    } catch {
      throw new IotaInputError(`cloudevent ${cloudevent.id}: data is declared application/json but is not JSON`);
    }
  }
  return cloudevent.data;
}

/** What `rapids.stage()` takes: @1mill/cloudevents' constructor props. `id`, `time`, `source` and the origin are set for you. */
export interface RapidInput {
  type: string;
  data?: unknown;
  datacontenttype?: string;
  dataschema?: string;
  subject?: string;
  actor?: string;
  wschannelid?: string;
  specversion?: string;
}

const OPTIONAL_TEXT = ["datacontenttype", "dataschema", "subject", "actor", "wschannelid", "specversion"] as const;

/** The attributes of @1mill/cloudevents v6's Cloudevent, in its order: an instance has every one, undefined when unset. */
export const CLOUDEVENT_ATTRIBUTES = [
  "data",
  "datacontenttype",
  "dataschema",
  "id",
  "source",
  "specversion",
  "subject",
  "time",
  "type",
  "actor",
  "wschannelid",
  "originid",
  "originsource",
  "origintime",
  "origintype",
] as const;

/**
 * A CloudEvent from this service, as @1mill/cloudevents v6 builds one: id `ce_<uuidv7>`, the
 * time, `data` JSON-encoded unless a `datacontenttype` is given (and undefined when there is
 * no data), and the `origin*` attributes of the chain's root: the triggering event's own
 * `origin*` when it has them, or this event itself. Every attribute is there, undefined when
 * unset: JSON leaves those out of the event sent, and the journal stores them as null.
 */
export function buildRapid(input: RapidInput, serviceId: string, origin: CloudEvent, now: () => Date = () => new Date()): CloudEvent {
  if (typeof input?.type !== "string" || input.type === "") throw new IotaInputError("rapids.stage: type must be a non-empty string");
  for (const name of OPTIONAL_TEXT) {
    if (input[name] !== undefined && typeof input[name] !== "string") throw new IotaInputError(`rapids.stage: ${name} must be a string`);
  }
  const id = `ce_${uuidv7()}`;
  const time = now().toISOString();
  const data = input.datacontenttype === undefined ? (input.data === undefined ? undefined : JSON.stringify(input.data)) : input.data;
  const event: CloudEvent = {
    data,
    datacontenttype: data !== undefined ? (input.datacontenttype ?? "application/json") : input.datacontenttype,
    dataschema: input.dataschema,
    id,
    source: serviceId,
    specversion: input.specversion ?? "1.0",
    subject: input.subject,
    time,
    type: input.type,
    actor: input.actor,
    wschannelid: input.wschannelid,
    originid: origin.originid ?? id,
    originsource: origin.originsource ?? serviceId,
    origintime: origin.origintime ?? time,
    origintype: origin.origintype ?? input.type,
  };
  return event;
}

/**
 * An event as the journal stores it, as with-iota's inserts did (the MongoDB driver writes an
 * undefined value as null): every attribute it has, an unset one as null.
 */
export function journalForm(cloudevent: CloudEvent): CloudEvent {
  return Object.fromEntries(Object.entries(cloudevent).map(([name, value]) => [name, value === undefined ? null : value])) as CloudEvent;
}

/** An event read back from the journal, to send: its null attributes are unset ones, left out as JSON leaves out undefined. */
export function fromJournalForm(cloudevent: CloudEvent): CloudEvent {
  return Object.fromEntries(Object.entries(cloudevent).filter(([, value]) => value !== null)) as CloudEvent;
}

export interface PutEventsEntry {
  EventBusName: string;
  Source: string;
  DetailType: string;
  Detail: string;
}

/** The PutEvents entry of a staged event, refused when EventBridge could not take it. */
export function toEntry(cloudevent: CloudEvent, eventBusName: string): PutEventsEntry {
  const entry = {
    EventBusName: eventBusName,
    Source: cloudevent.source,
    DetailType: CLOUDEVENT_DETAIL_TYPE,
    Detail: JSON.stringify(cloudevent),
  };
  const bytes = Buffer.byteLength(entry.Source) + Buffer.byteLength(entry.DetailType) + Buffer.byteLength(entry.Detail);
  if (bytes > MAX_ENTRY_BYTES) {
    throw new IotaInputError(
      `staged event ${cloudevent.type} (${cloudevent.id}) is ${bytes} bytes; EventBridge takes at most ${MAX_ENTRY_BYTES}`,
    );
  }
  return entry;
}
