/**
 * Responses for API Gateway HTTP API functions: JSON bodies, and errors that name the bad
 * parameter (400) or say nothing about internals (500).
 */
import { type ApiResponse, jsonResponse, textResponse } from "./json-response";
import { logger } from "./logger";

export { type ApiResponse, jsonResponse, textResponse };

/** A request the client got wrong; its message is shown to the client. */
export class BadRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadRequestError";
  }
}

/** The path of an HTTP API (payload 2.0) or REST API (1.0) request. */
export function pathOf(event: unknown, fallback: string): string {
  const e = event as { rawPath?: unknown; path?: unknown } | null;
  const path = typeof e?.rawPath === "string" ? e.rawPath : typeof e?.path === "string" ? e.path : fallback;
  return path || fallback;
}

/** The query parameters of an HTTP API (payload 2.0) or REST API (1.0) event. */
export function queryOf(event: unknown): Record<string, string | undefined> {
  const query = (event as { queryStringParameters?: unknown } | null)?.queryStringParameters;
  return typeof query === "object" && query !== null ? (query as Record<string, string | undefined>) : {};
}

/**
 * Runs `route`; a BadRequestError becomes a 400 with its message, anything else a 500
 * whose details go only to the log.
 */
export async function serve(route: () => Promise<ApiResponse>): Promise<ApiResponse> {
  try {
    return await route();
  } catch (err) {
    if (err instanceof BadRequestError) return jsonResponse(400, { message: err.message });
    logger.error("request failed", { error: err as Error });
    return jsonResponse(500, { message: "internal error" });
  }
}
