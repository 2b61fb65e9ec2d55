/**
 * The Alma webhook: `GET ?challenge=X` answers Alma's challenge; `POST` verifies
 * `X-Exl-Signature` (base64 HMAC-SHA256 of the raw body) and publishes the raw body to the SNS
 * topic of its event, as alma-webhook-handler did. Alma does not resend a delivery it got a
 * 4xx for, so the only record refused (422) is one the cache could not store at all: no known
 * event type, or no record id. Fields the cache will not store as Alma sent them (a request
 * without a user, a due date it cannot read, a title that is an object) are logged, and the
 * delivery is published. Accepts HTTP API (payload 2.0) and REST API (1.0) events, at `/` and
 * `/webhook` alike. During a rotation of the signing key, the previous key is accepted too
 * (signedWithAcceptedKey).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type * as z from "zod/mini";
import { BudgetExhaustedError, TimeBudget } from "../lib/budget";
import { ALMA_EVENTS, type AlmaEvent } from "../lib/env-names";
import { fieldPath } from "../lib/events";
import { type ApiResponse, jsonResponse } from "../lib/json-response";
import { logger } from "../lib/logger";
import { MIN_REFRESH_INTERVAL_MS, type SecretReader } from "../lib/secrets";
import { type CacheRecord, eventTimeMs, type FieldNote, loanMessage, loanRecord, requestMessage, requestRecord } from "./schema";

/** The keys a delivery may be signed with (see signingKeys for the deployed ones). */
export interface SigningKeys {
  current(): Promise<string>;
  /** The key before the current one, while the current one is younger than the rotation window. */
  previous(): Promise<string | undefined>;
  /** Reads the current key again, after no key matched; false when no read was made (rate-limited) or the key did not change. */
  refresh(): Promise<boolean>;
}

/**
 * The deployed keys: the secret `name`, whose previous version is accepted while the current
 * one was written less than `rotationWindowMs` ago.
 */
export function signingKeys(reader: SecretReader, name: string, rotationWindowMs: number): SigningKeys {
  /** The previous version's value: read once, as a version never changes; after a failed read, again after the refresh interval. */
  let previous: { version: number; value: Promise<string | undefined>; retryAt?: number } | undefined;
  const readPrevious = (version: number) => {
    const entry: NonNullable<typeof previous> = {
      version,
      value: reader.read(name, version).then(
        (found) => found.value,
        (err: Error) => {
          // The Parameters and Secrets extension answers every failed read alike, a version
          // SSM no longer keeps (it keeps 100) included: each is tried again after the interval.
          logger.warn("the previous signing key could not be read; only the current one is accepted for now", {
            version,
            error: err.message,
          });
          entry.retryAt = Date.now() + MIN_REFRESH_INTERVAL_MS;
          return undefined;
        },
      ),
    };
    return entry;
  };
  return {
    current: () => reader.get(name),
    async previous() {
      const { version, lastModified } = await reader.read(name);
      if (!version || version <= 1 || !lastModified || Date.now() - lastModified.getTime() >= rotationWindowMs) return undefined;
      if (previous?.version !== version - 1 || Date.now() >= (previous.retryAt ?? Infinity)) previous = readPrevious(version - 1);
      return previous.value;
    },
    async refresh() {
      const before = await reader.get(name);
      return (await reader.refresh(name)) !== before;
    },
  };
}

export interface WebhookDependencies {
  sns: SNSClient;
  keys: SigningKeys;
  /** Topic ARN per event. */
  topicArns: Partial<Record<AlmaEvent, string>>;
}

/** SNS refuses messages over 256 KiB. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Reads a body's record as its cache function will: the record, or why it cannot be stored. */
function reader<S extends z.ZodMiniType>(schema: S, record: (message: z.infer<S>, nowMs: number) => CacheRecord) {
  return (payload: unknown, nowMs: number) => {
    const checked = schema.safeParse(payload);
    return checked.success
      ? { ok: true as const, record: record(checked.data, nowMs) }
      : { ok: false as const, issues: checked.error.issues };
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
 * Whether `signature` is the base64 HMAC-SHA256 of the body, exactly as Node writes it, compared
 * as text: trailing text, missing padding, base64url or spaces do not
 * match. Compared in constant time.
 */
export function signatureMatches(body: string, signature: string | undefined, secret: string): boolean {
  if (!signature) return false;
  const expected = Buffer.from(createHmac("sha256", secret).update(body, "utf8").digest("base64"));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Whether the delivery is signed with the current key or, during a rotation, the previous
 * one. When neither matches, the current key is read again (Alma may already sign with a key
 * this container has not read yet) and both are tried once more.
 */
export async function signedWithAcceptedKey(body: string, signature: string | undefined, keys: SigningKeys): Promise<boolean> {
  if (!signature) return false;
  const matches = (key: string | undefined) => key !== undefined && signatureMatches(body, signature, key);
  const anyKey = async () => matches(await keys.current()) || matches(await keys.previous());
  return (await anyKey()) || ((await keys.refresh()) && (await anyKey()));
}

const noteText = (note: FieldNote) => `${note.field}: ${note.note}`;

/**
 * Answers one delivery. The publish must finish within `budget` (the invocation's time, less
 * a margin): past it, the handler throws, Alma sees a 5xx and delivers again.
 */
export async function handleWebhook(
  event: unknown,
  deps: WebhookDependencies,
  budget: TimeBudget = TimeBudget.unbounded(),
): Promise<ApiResponse> {
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
  if (!(await signedWithAcceptedKey(request.body, request.headers["x-exl-signature"], deps.keys))) {
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
  if (notes.length > 0)
    logger.warn("published with fields the cache will not store as Alma sent them", { event: almaEvent, id, fields: notes });
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
