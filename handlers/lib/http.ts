/**
 * HTTP with bounded retries: 429, 5xx, timeouts and network errors are retried with
 * exponential backoff and jitter; other responses are returned or thrown at once.
 */
import pRetry, { AbortError } from "p-retry";

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

function withoutQuery(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/**
 * Fetches `url`, retrying transient failures within `policy`. Resolves with a 2xx response;
 * rejects with an HttpError for any other status (at once when it is permanent), or with
 * the last network error.
 */
export async function fetchWithRetry(
  url: string,
  init: RequestInit = {},
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<Response> {
  const method = init.method ?? "GET";
  return pRetry(
    async () => {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(policy.requestTimeoutMs) });
      if (response.ok) return response;
      const error = new HttpError(response.status, method, withoutQuery(url), await response.text().catch(() => ""));
      throw error.transient ? error : new AbortError(error);
    },
    {
      retries: policy.retries,
      minTimeout: policy.minTimeoutMs,
      maxTimeout: policy.maxTimeoutMs,
      maxRetryTime: policy.maxRetryTimeMs,
      factor: 2,
      randomize: true,
    },
  );
}
