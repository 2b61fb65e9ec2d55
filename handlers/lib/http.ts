/**
 * HTTP with bounded retries: 429, 5xx, timeouts and network errors are retried with
 * exponential backoff and jitter, and no sooner than a `Retry-After` asks; other responses
 * are returned or thrown at once. Every wait and every attempt fits in the policy's bounds
 * and in the invocation's time budget: a server that asks for a longer wait than either
 * allows gets the error back at once.
 */
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
function sentValues(init: RequestInit): string[] {
  const values: string[] = [];
  const authorization = new Headers(init.headers).get("authorization");
  if (authorization) values.push(authorization, authorization.replace(/^\S+\s+/, ""));
  if (typeof init.body === "string" && init.body !== "") {
    values.push(init.body);
    try {
      values.push(...Object.values(JSON.parse(init.body) as Record<string, unknown>).filter((v): v is string => typeof v === "string"));
    } catch {
      values.push(...new URLSearchParams(init.body).values());
    }
  }
  return values;
}

function describeAnswer(body: string, how: AnswerDetail, init: RequestInit): string | undefined {
  if (how === "oauthError") {
    let code: unknown;
    try {
      code = (JSON.parse(body) as { error?: unknown } | null)?.error;
    } catch {
      code = undefined;
    }
    return typeof code === "string" && OAUTH_ERROR_CODES.includes(code) ? code : undefined;
  }
  const excerpt = maskEmails(withoutSecrets(body, sentValues(init)).slice(0, 200));
  return excerpt || undefined;
}

function withoutQuery(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/**
 * Fetches `url`, retrying transient failures within `policy` and `budget`. Resolves with a
 * 2xx response; rejects with an HttpError for any other status (at once when it is
 * permanent, or when `Retry-After` asks for more time than is left), with a
 * BudgetExhaustedError, or with the last network error. `answerDetail` decides what the
 * HttpError tells of the answer's body.
 */
export async function fetchWithRetry(
  url: string,
  init: RequestInit = {},
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  budget: TimeBudget = TimeBudget.unbounded(),
  answerDetail: AnswerDetail = "excerpt",
): Promise<Response> {
  const method = init.method ?? "GET";
  const started = Date.now();
  return pRetry(
    async () => {
      const remaining = budget.remainingMs();
      if (remaining <= 0) throw new AbortError(new BudgetExhaustedError(`${method} ${withoutQuery(url)}`));
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(Math.min(policy.requestTimeoutMs, remaining)) });
      if (response.ok) return response;
      const body = await response.text().catch(() => "");
      const error = new HttpError(response.status, method, withoutQuery(url), describeAnswer(body, answerDetail, init), retryAfterMs(response.headers.get("retry-after")));
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
