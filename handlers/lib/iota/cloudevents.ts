/**
 * CloudEvents for iota: reading the triggering event (bare, or inside an EventBridge
 * envelope) and building the events a function stages ("rapids").
 */
import { randomUUID } from "node:crypto";

/** The EventBridge `detail-type` of every CloudEvent on an iota bus. */
export const CLOUDEVENT_DETAIL_TYPE = "application/cloudevents+json";
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
  [attribute: string]: unknown;
}

/** An event that cannot be applied as given; retrying it cannot help. */
export class IotaInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IotaInputError";
  }
}

/** The CloudEvent of a Lambda event: `event.detail` when it came through EventBridge, else the event itself. */
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
  return candidate as CloudEvent;
}

/** `data`, parsed when it is a JSON string. */
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

export interface RapidInput {
  type: string;
  data?: unknown;
  [attribute: string]: unknown;
}

/** A new CloudEvent 1.0 from this service, pointing at the event that caused it. */
export function buildRapid(input: RapidInput, serviceId: string, origin: CloudEvent, now: () => Date = () => new Date()): CloudEvent {
  if (typeof input?.type !== "string" || input.type === "") throw new IotaInputError("rapids.stage: type must be a non-empty string");
  const { type, data, ...extensions } = input;
  return {
    ...extensions,
    specversion: "1.0",
    id: randomUUID(),
    source: serviceId,
    type,
    time: now().toISOString(),
    datacontenttype: "application/json",
    data: JSON.stringify(data ?? null),
    originid: origin.id,
    originsource: origin.source,
    origintype: origin.type,
  };
}

export interface PutEventsEntry {
  EventBusName: string;
  Source: string;
  DetailType: string;
  Detail: string;
}

/** The PutEvents entry of a staged event, refused when EventBridge could not take it. */
export function toEntry(cloudevent: CloudEvent, eventBusName: string): PutEventsEntry {
  const entry = { EventBusName: eventBusName, Source: cloudevent.source, DetailType: CLOUDEVENT_DETAIL_TYPE, Detail: JSON.stringify(cloudevent) };
  const bytes = Buffer.byteLength(entry.Source) + Buffer.byteLength(entry.DetailType) + Buffer.byteLength(entry.Detail);
  if (bytes > MAX_ENTRY_BYTES) {
    throw new IotaInputError(`staged event ${cloudevent.type} (${cloudevent.id}) is ${bytes} bytes; EventBridge takes at most ${MAX_ENTRY_BYTES}`);
  }
  return entry;
}
