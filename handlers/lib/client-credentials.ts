/**
 * An OAuth2 client-credentials token (Auth0 machine-to-machine), cached in the container
 * until shortly before it expires, so that a warm container asks for one token, not one per
 * invocation. Concurrent callers share one request (and its retries). The client
 * authenticates with `client_secret_post`: its id and secret are fields of the body, sent as
 * JSON (as tc-core-library-js's m2m sends them to Auth0) or form-encoded (RFC 6749's form).
 * Nothing of the endpoint's answer reaches an error but its status and a standard OAuth error
 * code: a token endpoint may echo the request, client secret included.
 */
import { TimeBudget } from "./budget";
import type { TokenRequestFormat } from "./env-names";
import { DEFAULT_RETRY_POLICY, HttpError, requestWithRetry, type RetryPolicy } from "./http";

export interface ClientCredentialsOptions {
  /** The token endpoint, for example https://tenant.auth0.com/oauth/token. */
  tokenUrl: string;
  clientId: string;
  /** Read lazily, so that the secret is fetched only when a token is needed. */
  clientSecret: () => Promise<string>;
  /**
   * The secret read again, after the token endpoint refused the one it had (401): when it
   * differs (the secret was rotated), the token is asked for once more with it.
   */
  refreshClientSecret?: () => Promise<string>;
  audience: string;
  /** How the body is encoded (default `json`). */
  bodyFormat?: TokenRequestFormat;
  /** Fields sent after the standard ones, for token endpoints that expect more. */
  extraFields?: Record<string, string>;
  /** Renew this long before the token expires, in ms (at most half the token's lifetime). */
  renewBeforeMs?: number;
  retry?: RetryPolicy;
  /** The clock, for tests. */
  now?: () => number;
}

interface CachedToken {
  value: string;
  /** When to stop using it: before it expires, by the renewal margin. */
  renewAt: number;
}

/** `expires_in`, in seconds, given as a number or a numeric string; undefined otherwise. */
export function expiresInSeconds(value: unknown): number | undefined {
  const seconds = typeof value === "string" && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
  return typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

export class ClientCredentialsToken {
  private cached?: CachedToken;
  private pending?: Promise<CachedToken>;
  /** Token requests made by this cache: what the bench counts. */
  requests = 0;

  constructor(private readonly options: ClientCredentialsOptions) {}

  /** A valid access token, from the cache when it has one. Concurrent callers share one request. */
  async get(budget: TimeBudget = TimeBudget.unbounded()): Promise<string> {
    const now = (this.options.now ?? Date.now)();
    if (this.cached && this.cached.renewAt > now) return this.cached.value;
    this.pending ??= this.request(budget).finally(() => (this.pending = undefined));
    this.cached = await this.pending;
    return this.cached.value;
  }

  /** Forgets the cached token, after the API has refused it (401). */
  invalidate(refused?: string): void {
    if (refused === undefined || this.cached?.value === refused) this.cached = undefined;
  }

  private async request(budget: TimeBudget): Promise<CachedToken> {
    const secret = await this.options.clientSecret();
    return this.requestWith(secret, budget).catch(async (err: unknown) => {
      const renewed = err instanceof HttpError && err.status === 401 && (await this.options.refreshClientSecret?.());
      if (!renewed || renewed === secret) throw err;
      return this.requestWith(renewed, budget);
    });
  }

  private async requestWith(clientSecret: string, budget: TimeBudget): Promise<CachedToken> {
    const { tokenUrl, clientId, audience } = this.options;
    const startedAt = (this.options.now ?? Date.now)();
    this.requests += 1;
    const fields = {
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: clientSecret,
      audience,
      ...this.options.extraFields,
    };
    const form = this.options.bodyFormat === "form";
    const answer = await requestWithRetry(
      tokenUrl,
      {
        method: "POST",
        headers: { "content-type": form ? "application/x-www-form-urlencoded" : "application/json", accept: "application/json" },
        body: form ? new URLSearchParams(fields).toString() : JSON.stringify(fields),
      },
      this.options.retry ?? DEFAULT_RETRY_POLICY,
      budget,
      "oauthError",
    );
    const endpoint = `token endpoint ${new URL(tokenUrl).origin}`;
    let body: { access_token?: unknown; expires_in?: unknown } | null;
    try {
      body = JSON.parse(answer.body);
    } catch {
      // JSON.parse's own error quotes the text it could not read.
      throw new Error(`${endpoint} answered HTTP ${answer.status} with a body that is not JSON`);
    }
    if (typeof body?.access_token !== "string" || body.access_token === "") {
      throw new Error(`${endpoint} answered HTTP ${answer.status} without an access_token`);
    }
    const lifetimeMs = (expiresInSeconds(body.expires_in) ?? 3600) * 1000;
    // A short-lived token is still reused: the margin is never more than half its life.
    const renewBefore = Math.min(this.options.renewBeforeMs ?? 60_000, lifetimeMs / 2);
    return { value: body.access_token, renewAt: startedAt + lifetimeMs - renewBefore };
  }
}
