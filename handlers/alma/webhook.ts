/**
 * The Alma webhook: `GET ?challenge=X` answers Alma's challenge; `POST` verifies
 * `X-Exl-Signature` (base64 HMAC-SHA256 of the raw body) and publishes the raw body to the SNS
 * topic of its event, as alma-webhook-handler did. Alma does not resend a delivery it got a
 * 4xx for, so the only record refused (422) is one the cache could not store at all: no known
 * event type, or no record id. Fields the cache will not store as Alma sent them (a request
 * without a user, a due date it cannot read, a title that is an object) are logged, and the
 * delivery is published. Accepts HTTP API (payload 2.0) and REST API (1.0) events, at `/` and
 * `/webhook` alike.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type * as z from "zod/mini";
import { BudgetExhaustedError, TimeBudget } from "../lib/budget";
import { ALMA_EVENTS, type AlmaEvent } from "../lib/env-names";
import { fieldPath } from "../lib/events";
import { type ApiResponse, jsonResponse } from "../lib/json-response";
import { logger } from "../lib/logger";
import { type CacheRecord, eventTimeMs, type FieldNote, loanMessage, loanRecord, requestMessage, requestRecord } from "./schema";

export interface WebhookDependencies {
  sns: SNSClient;
  /** The signing key, read once per container. */
  secret: () => Promise<string>;
  /** Topic ARN per event. */
  topicArns: Partial<Record<AlmaEvent, string>>;
}

/** SNS refuses messages over 256 KiB. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Reads a body's record as its cache function will: the record, or why it cannot be stored. */
function reader<S extends z.ZodMiniType>(schema: S, record: (message: z.infer<S>, nowMs: number) => CacheRecord) {
  return (payload: unknown, nowMs: number) => {
    const checked = schema.safeParse(payload);
    return checked.success ? { ok: true as const, record: record(checked.data, nowMs) } : { ok: false as const, issues: checked.error.issues };
  };
}
const LOAN = reader(loanMessage, loanRecord);
const REQUEST = reader(requestMessage, requestRecord);
const READERS: Record<AlmaEvent, typeof LOAN> = {
  LOAN_CREATED: LOAN,
  LOAN_RENEWED: LOAN,
  LOAN_DUE_DATE: LOAN,
  LOAN_RETURNED: LOAN,
  REQUEST_CREATED: REQUEST,
  REQUEST_PLACED_ON_SHELF: REQUEST,
  REQUEST_CLOSED: REQUEST,
  REQUEST_CANCELED: REQUEST,
};

interface HttpRequest {
  method: string;
  headers: Record<string, string>;
  query: Record<string, string>;
  body: string;
}

function asRecord(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === "string")) as Record<string, string>;
}

/** The parts of an API Gateway event the webhook reads, whatever its payload version. */
export function requestOf(event: unknown): HttpRequest {
  const e = (typeof event === "object" && event !== null ? event : {}) as Record<string, any>;
  const headers = Object.fromEntries(Object.entries(asRecord(e.headers)).map(([k, v]) => [k.toLowerCase(), v]));
  const rawBody = typeof e.body === "string" ? e.body : "";
  const body = e.isBase64Encoded ? Buffer.from(rawBody, "base64").toString("utf8") : rawBody;
  // Payload 2.0 has requestContext.http.method, 1.0 has httpMethod; a captured delivery
  // without either is Alma's POST.
  const method = String(e.requestContext?.http?.method ?? e.httpMethod ?? (typeof e.body === "string" ? "POST" : "GET")).toUpperCase();
  return { method, headers, query: asRecord(e.queryStringParameters), body };
}

/**
 * Whether `signature` is the base64 HMAC-SHA256 of the body, exactly as Node writes it (the
 * original compared the strings): trailing text, missing padding, base64url or spaces do not
 * match. Compared in constant time.
 */
export function signatureMatches(body: string, signature: string | undefined, secret: string): boolean {
  if (!signature) return false;
  const expected = Buffer.from(createHmac("sha256", secret).update(body, "utf8").digest("base64"));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const noteText = (note: FieldNote) => `${note.field}: ${note.note}`;

/**
 * Answers one delivery. The publish must finish within `budget` (the invocation's time, less
 * a margin): past it, the handler throws, Alma sees a 5xx and delivers again.
 */
export async function handleWebhook(event: unknown, deps: WebhookDependencies, budget: TimeBudget = TimeBudget.unbounded()): Promise<ApiResponse> {
  const request = requestOf(event);
  if (request.method === "GET") {
    const challenge = request.query.challenge;
    if (!challenge) return jsonResponse(400, { message: "query parameter challenge is required" });
    return jsonResponse(200, { challenge });
  }
  if (request.method !== "POST") return jsonResponse(405, { message: `method ${request.method} is not allowed` });

  if (Buffer.byteLength(request.body, "utf8") > MAX_BODY_BYTES) {
    return jsonResponse(413, { message: `body is larger than ${MAX_BODY_BYTES} bytes` });
  }
  if (!signatureMatches(request.body, request.headers["x-exl-signature"], await deps.secret())) {
    return jsonResponse(401, { message: "header X-Exl-Signature does not match the body" });
  }
  let payload: unknown;
  try {
    payload = JSON.parse(request.body);
  } catch {
    return jsonResponse(400, { message: "body is not JSON" });
  }
  const value = (payload as { event?: { value?: unknown } } | null)?.event?.value;
  if (typeof value !== "string" || !(ALMA_EVENTS as readonly string[]).includes(value)) {
    return jsonResponse(422, { message: `event.value ${JSON.stringify(value ?? null)} is not one of ${ALMA_EVENTS.join(", ")}` });
  }
  const almaEvent = value as AlmaEvent;
  const read = READERS[almaEvent](payload, Date.now());
  if (!read.ok) {
    const fields = read.issues.map((issue) => `${fieldPath(issue.path)}: ${issue.message}`);
    return jsonResponse(422, { message: `the ${almaEvent} record cannot be stored: ${fields.join("; ")}`, fields });
  }
  const { id, notes } = read.record;
  eventTimeMs(payload as { time?: unknown }, undefined, Date.now(), notes);
  if (notes.length > 0) logger.warn("published with fields the cache will not store as Alma sent them", { event: almaEvent, id, fields: notes });
  const topicArn = deps.topicArns[almaEvent];
  if (!topicArn) throw new Error(`no topic is configured for ${almaEvent}`);
  // The raw body, exactly as signed, is what the cache functions receive. The SDK retries
  // throttling and 5xx (honouring Retry-After) within the time left.
  const remaining = budget.remainingMs();
  if (remaining <= 0) throw new BudgetExhaustedError(`the ${almaEvent} delivery could be published`);
  const { MessageId } = await deps.sns.send(
    new PublishCommand({ TopicArn: topicArn, Message: request.body }),
    Number.isFinite(remaining) ? { abortSignal: AbortSignal.timeout(remaining) } : {},
  );
  return jsonResponse(200, { event: almaEvent, messageId: MessageId, ...(notes.length > 0 ? { notes: notes.map(noteText) } : {}) });
}
