/**
 * HTTP with bounded retries: 429, 5xx, timeouts and network errors are retried with
 * exponential backoff and jitter, and no sooner than a `Retry-After` asks; other responses
 * are returned or thrown at once. Every wait and every attempt fits in the policy's bounds
 * and in the invocation's time budget: a server that asks for a longer wait than either
 * allows gets the error back at once.
 *
 * Over node:http(s), not fetch: a first `fetch` loads undici, about 23 ms of CPU at a cold
 * start and 13 MB of memory for good (docs/bench.md). `requestWithRetry` reads answers whole
 * (the API calls of lesson-completed and skill-sync), `downloadWithRetry` writes one to a file
 * (skill-sync's release archives). A GET follows redirects as fetch does; other methods do
 * not follow them (fetch would), which none of the APIs called here asks for.
 */
import { createWriteStream } from "node:fs";
import { type IncomingHttpHeaders, type IncomingMessage, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { pipeline } from "node:stream/promises";
import pRetry, { AbortError } from "p-retry";
import { BudgetExhaustedError, TimeBudget } from "./budget";
import { maskEmails, withoutSecrets } from "./mask";

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** First backoff, in ms; it doubles each time, with jitter. */
  minTimeoutMs: number;
  /** Longest single backoff, in ms. */
  maxTimeoutMs: number;
  /** Time after which no new attempt starts, in ms: the bound on the whole call. */
  maxRetryTimeMs: number;
  /** Timeout of one attempt, in ms. */
  requestTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: 4,
  minTimeoutMs: 200,
  maxTimeoutMs: 3_000,
  maxRetryTimeMs: 20_000,
  requestTimeoutMs: 5_000,
};

/**
 * A response that was not 2xx. `url` never includes the query, which may hold personal data,
 * and `detail` is what may be told of the body (see AnswerDetail), never the body itself.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly url: string,
    readonly detail: string | undefined,
    /** How long the server asked to wait before trying again (`Retry-After`), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(`${method} ${url} answered HTTP ${status}${detail ? `: ${detail}` : ""}`);
    this.name = "HttpError";
  }

  get transient(): boolean {
    return isTransientStatus(this.status);
  }
}

export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** `Retry-After` as ms: delay-seconds, or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * What an error may tell of a non-2xx answer's body, which ends up in logs and in parked
 * records: `excerpt`, its first 200 characters with e-mail addresses masked and nothing the
 * request sent (its credentials, its body); `oauthError`, for a token endpoint, whose answer
 * may echo the client secret in ways no redaction foresees, only the `error` field when it is
 * one of OAuth 2.0's codes (RFC 6749).
 */
export type AnswerDetail = "excerpt" | "oauthError";

/** OAuth 2.0's error codes (RFC 6749 4.1.2.1 and 5.2): fixed words, safe to log. */
export const OAUTH_ERROR_CODES = [
  "invalid_request",
  "invalid_client",
  "invalid_grant",
  "unauthorized_client",
  "unsupported_grant_type",
  "invalid_scope",
  "access_denied",
  "server_error",
  "temporarily_unavailable",
];

/**
 * What a request sent that its answer must not repeat: its `Authorization` header (and the
 * token in it), and its body, whole and each of its values (a JSON object's or a form's).
 */
function sentValues(authorization: string | null | undefined, body: unknown): string[] {
  const values: string[] = [];
  if (authorization) values.push(authorization, authorization.replace(/^\S+\s+/, ""));
  if (typeof body === "string" && body !== "") {
    values.push(body);
    try {
      values.push(...Object.values(JSON.parse(body) as Record<string, unknown>).filter((v): v is string => typeof v === "string"));
    } catch {
      values.push(...new URLSearchParams(body).values());
    }
  }
  return values;
}

function describeAnswer(body: string, how: AnswerDetail, sent: string[]): string | undefined {
  if (how === "oauthError") {
    let code: unknown;
    try {
      code = (JSON.parse(body) as { error?: unknown } | null)?.error;
    } catch {
      code = undefined;
    }
    return typeof code === "string" && OAUTH_ERROR_CODES.includes(code) ? code : undefined;
  }
  const excerpt = maskEmails(withoutSecrets(body, sent).slice(0, 200));
  return excerpt || undefined;
}

function withoutQuery(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** One attempt's answer, whichever client got it. */
interface Attempt<T> {
  status: number;
  retryAfter: string | null;
  text(): Promise<string>;
  value: T;
}

/**
 * Runs `attempt` until it gets a 2xx answer, retrying transient failures within `policy`
 * and `budget`. Rejects with an HttpError for any other status (at once when it is
 * permanent, or when `Retry-After` asks for more time than is left), with a
 * BudgetExhaustedError, or with the last network error. `answerDetail` decides what the
 * HttpError tells of the answer's body; `sent` is what it must never repeat.
 */
function withRetries<T>(
  method: string,
  url: string,
  sent: string[],
  attempt: (timeoutMs: number) => Promise<Attempt<T>>,
  policy: RetryPolicy,
  budget: TimeBudget,
  answerDetail: AnswerDetail,
): Promise<T> {
  const started = Date.now();
  return pRetry(
    async () => {
      const remaining = budget.remainingMs();
      if (remaining <= 0) throw new AbortError(new BudgetExhaustedError(`${method} ${withoutQuery(url)}`));
      const answer = await attempt(Math.min(policy.requestTimeoutMs, remaining));
      if (answer.status >= 200 && answer.status < 300) return answer.value;
      const body = await answer.text().catch(() => "");
      const error = new HttpError(
        answer.status,
        method,
        withoutQuery(url),
        describeAnswer(body, answerDetail, sent),
        retryAfterMs(answer.retryAfter),
      );
      throw error.transient ? error : new AbortError(error);
    },
    {
      retries: policy.retries,
      minTimeout: policy.minTimeoutMs,
      maxTimeout: policy.maxTimeoutMs,
      maxRetryTime: Math.min(policy.maxRetryTimeMs, budget.remainingMs()),
      factor: 2,
      randomize: true,
      onFailedAttempt: async ({ error }) => {
        const wait = error instanceof HttpError ? error.retryAfterMs : undefined;
        if (wait === undefined || wait === 0) return;
        // Waiting longer than the policy or the invocation allows would only end in a timeout.
        if (Date.now() - started + wait > policy.maxRetryTimeMs || wait >= budget.remainingMs()) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      },
    },
  );
}

export interface HttpRequest {
  method?: string;
  /** Header names in lower case. */
  headers?: Record<string, string>;
  body?: string;
}

/** An answer read whole. */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Sent with every request unless it names its own: fetch sent `node`, node:http sends none,
 * and GitHub (and firewalls in front of other APIs) refuse a request without one.
 */
const USER_AGENT = "tributary";

/** The redirects fetch follows, and how many at most. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

/** Sends one request and resolves with the answer's head, its body unread. */
function open(target: URL, method: string, request: HttpRequest, signal: AbortSignal): Promise<IncomingMessage> {
  // A length, as fetch sends it, rather than chunks: an empty PUT says it is empty.
  const length =
    request.body !== undefined || !["GET", "HEAD"].includes(method)
      ? { "content-length": String(Buffer.byteLength(request.body ?? "")) }
      : {};
  const options = { method, headers: { "user-agent": USER_AGENT, ...length, ...request.headers }, signal };
  return new Promise((resolve, reject) => {
    const outgoing = target.protocol === "https:" ? httpsRequest(target, options, resolve) : httpRequest(target, options, resolve);
    outgoing.on("error", reject);
    outgoing.end(request.body);
  });
}

function readWhole(response: IncomingMessage, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("error", reject);
    response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    response.on("close", () => {
      if (!response.complete) reject(new Error(`${what}: the connection closed before the answer was complete`));
    });
  });
}

/**
 * One request with node:http or node:https, its redirects followed if it is a GET (without
 * the authorization header once they leave its origin, as fetch does). The answer is read
 * whole, or, if it is a 2xx and `file` is given, written to `file`. Everything ends after
 * `timeoutMs`.
 */
async function send(url: string, request: HttpRequest, timeoutMs: number, file?: string): Promise<HttpAnswer> {
  const method = request.method ?? "GET";
  const signal = AbortSignal.timeout(timeoutMs);
  let target = new URL(url);
  let headers = { ...request.headers };
  for (let redirects = 0; ; redirects++) {
    const response = await open(target, method, { ...request, headers }, signal);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (method === "GET" && REDIRECT_STATUSES.has(status) && location && redirects < MAX_REDIRECTS) {
      response.resume();
      const next = new URL(location, target);
      if (next.origin !== target.origin) headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== "authorization"));
      target = next;
      continue;
    }
    if (file !== undefined && status >= 200 && status < 300) {
      await pipeline(response, createWriteStream(file), { signal });
      return { status, headers: response.headers, body: "" };
    }
    return { status, headers: response.headers, body: await readWhole(response, `${method} ${withoutQuery(target.href)}`) };
  }
}

/** Sends a request with node:http(s), retrying as withRetries does; resolves with a 2xx answer, read whole. */
export function requestWithRetry(
  url: string,
  request: HttpRequest = {},
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  budget: TimeBudget = TimeBudget.unbounded(),
  answerDetail: AnswerDetail = "excerpt",
): Promise<HttpAnswer> {
  return sendWithRetry(url, request, policy, budget, answerDetail);
}

/** Downloads `url` to `file` with node:http(s), retrying as withRetries does; each attempt writes the file anew. */
export async function downloadWithRetry(
  url: string,
  file: string,
  request: HttpRequest = {},
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  budget: TimeBudget = TimeBudget.unbounded(),
): Promise<void> {
  await sendWithRetry(url, request, policy, budget, "excerpt", file);
}

function sendWithRetry(
  url: string,
  request: HttpRequest,
  policy: RetryPolicy,
  budget: TimeBudget,
  answerDetail: AnswerDetail,
  file?: string,
): Promise<HttpAnswer> {
  const sent = sentValues(request.headers?.authorization, request.body);
  return withRetries(
    request.method ?? "GET",
    url,
    sent,
    async (timeoutMs) => {
      const answer = await send(url, request, timeoutMs, file);
      const retryAfter = answer.headers["retry-after"];
      return { status: answer.status, retryAfter: retryAfter ?? null, text: async () => answer.body, value: answer };
    },
    policy,
    budget,
    answerDetail,
  );
}
