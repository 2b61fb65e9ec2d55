/**
 * A stand-in for an Auth0 tenant's token endpoint (`POST /oauth/token`, client credentials),
 * as particular as Auth0 about what decides its answer: the body is read as JSON or as a
 * form, by its content type (Auth0 takes both); an unknown client or a wrong secret gets 401,
 * an audience the tenant has no API for gets 403 "Service not found". A route for startStub.
 */
import type { RecordedRequest, StubResponse } from "./http-stub";

export interface Auth0TokenOptions {
  /** Client id → secret. */
  clients: Record<string, string>;
  /** The APIs' identifiers (audiences) the tenant has. */
  audiences: string[];
  /** The access token to issue for the n-th request (1-based); `token-<n>` by default. */
  token?: (n: number) => string;
  expiresIn?: number | string;
}

/** The fields of a token request's body, read as Auth0 reads them; undefined for a content type it refuses. */
export function tokenRequestFields(request: RecordedRequest): Record<string, unknown> | undefined {
  const type = String(request.headers["content-type"] ?? "")
    .split(";")[0]
    .trim()
    .toLowerCase();
  if (type === "application/json") {
    try {
      const body = JSON.parse(request.body);
      return typeof body === "object" && body !== null && !Array.isArray(body) ? body : undefined;
    } catch {
      return undefined;
    }
  }
  if (type === "application/x-www-form-urlencoded") return Object.fromEntries(new URLSearchParams(request.body));
  return undefined;
}

export function auth0TokenRoute(options: Auth0TokenOptions): (request: RecordedRequest) => StubResponse {
  let issued = 0;
  return (request) => {
    const fields = tokenRequestFields(request);
    if (!fields) return { status: 400, body: { error: "invalid_request", error_description: "the body must be JSON or form-encoded" } };
    if (fields.grant_type !== "client_credentials") {
      return {
        status: 403,
        body: { error: "unauthorized_client", error_description: `Grant type '${String(fields.grant_type)}' not allowed for the client.` },
      };
    }
    const secret = typeof fields.client_id === "string" ? options.clients[fields.client_id] : undefined;
    if (secret === undefined || fields.client_secret !== secret)
      return { status: 401, body: { error: "access_denied", error_description: "Unauthorized" } };
    if (typeof fields.audience !== "string" || !options.audiences.includes(fields.audience)) {
      return { status: 403, body: { error: "access_denied", error_description: `Service not found: ${String(fields.audience)}` } };
    }
    issued += 1;
    return {
      body: { access_token: options.token?.(issued) ?? `token-${issued}`, expires_in: options.expiresIn ?? 86400, token_type: "Bearer" },
    };
  };
}
