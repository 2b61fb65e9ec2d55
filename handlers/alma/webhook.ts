/**
 * The Alma webhook: `GET ?challenge=X` answers Alma's challenge; `POST` verifies
 * `X-Exl-Signature` (base64 HMAC-SHA256 of the raw body), checks the record with the schema
 * the cache functions use, and publishes the raw body to the SNS topic of its event. So a
 * delivery the cache would refuse gets a 4xx that Alma shows, instead of a DLQ entry.
 * Accepts HTTP API (payload 2.0) and REST API (1.0) events, at `/` and `/webhook` alike.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type * as z from "zod/mini";
import { BudgetExhaustedError, TimeBudget } from "../lib/budget";
import { ALMA_EVENTS, type AlmaEvent } from "../lib/env-names";
import { fieldPath } from "../lib/events";
import { type ApiResponse, jsonResponse } from "../lib/json-response";
import { loanMessage, requestMessage } from "./schema";

export interface WebhookDependencies {
  sns: SNSClient;
  /** The signing key, read once per container. */
  secret: () => Promise<string>;
  /** Topic ARN per event. */
  topicArns: Partial<Record<AlmaEvent, string>>;
}

/** SNS refuses messages over 256 KiB. */
export const MAX_BODY_BYTES = 256 * 1024;
/** Alma's bodies nest three levels deep; nothing the cache reads nests deeper than this. */
export const MAX_BODY_DEPTH = 32;

/** The schema of each event's record: the cache function's own. */
const RECORD_SCHEMAS: Record<AlmaEvent, z.ZodMiniType> = {
  LOAN_CREATED: loanMessage,
  LOAN_RENEWED: loanMessage,
  LOAN_DUE_DATE: loanMessage,
  LOAN_RETURNED: loanMessage,
  REQUEST_CREATED: requestMessage,
  REQUEST_PLACED_ON_SHELF: requestMessage,
  REQUEST_CLOSED: requestMessage,
  REQUEST_CANCELED: requestMessage,
};

/** How deep a JSON text nests arrays and objects, counted without parsing it. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") deepest = Math.max(deepest, ++depth);
    else if (c === "}" || c === "]") depth--;
  }
  return deepest;
}

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

/** Constant-time comparison of the signature Alma sent with the one the body should have. */
export function signatureMatches(body: string, signature: string | undefined, secret: string): boolean {
  if (!signature) return false;
  const expected = createHmac("sha256", secret).update(body, "utf8").digest();
  const given = Buffer.from(signature, "base64");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

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
  if (jsonDepth(request.body) > MAX_BODY_DEPTH) {
    return jsonResponse(422, { message: `body nests deeper than ${MAX_BODY_DEPTH} levels` });
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
  const checked = RECORD_SCHEMAS[almaEvent].safeParse(payload);
  if (!checked.success) {
    const fields = checked.error.issues.map((issue) => `${fieldPath(issue.path)}: ${issue.message}`);
    return jsonResponse(422, { message: `the ${almaEvent} record cannot be cached: ${fields.join("; ")}`, fields });
  }
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
  return jsonResponse(200, { event: almaEvent, messageId: MessageId });
}
