/**
 * HTTP with bounded retries: 429, 5xx, timeouts and network errors are retried with
 * exponential backoff and jitter, and no sooner than a `Retry-After` asks; other responses
 * are returned or thrown at once. Every wait and every attempt fits in the policy's bounds
 * and in the invocation's time budget: a server that asks for a longer wait than either
 * allows gets the error back at once.
 */
import pRetry, { AbortError } from "p-retry";
import { BudgetExhaustedError, TimeBudget } from "./budget";

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

/** A response that was not 2xx. `url` never includes the query, which may hold personal data. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly url: string,
    readonly body: string,
    /** How long the server asked to wait before trying again (`Retry-After`), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(`${method} ${url} answered HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ""}`);
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

function withoutQuery(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/**
 * Fetches `url`, retrying transient failures within `policy` and `budget`. Resolves with a
 * 2xx response; rejects with an HttpError for any other status (at once when it is
 * permanent, or when `Retry-After` asks for more time than is left), with a
 * BudgetExhaustedError, or with the last network error.
 */
export async function fetchWithRetry(
  url: string,
  init: RequestInit = {},
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  budget: TimeBudget = TimeBudget.unbounded(),
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
      const error = new HttpError(response.status, method, withoutQuery(url), body, retryAfterMs(response.headers.get("retry-after")));
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
