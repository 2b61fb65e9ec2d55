/** A JSON answer to API Gateway (HTTP API or REST API proxy integration). */
export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export function jsonResponse(statusCode: number, body: unknown): ApiResponse {
  return textResponse(statusCode, JSON.stringify(body), "application/json");
}

/** An answer whose body is already written, for example JSON written by hand or plain text. */
export function textResponse(statusCode: number, body: string, contentType: string): ApiResponse {
  return { statusCode, headers: { "content-type": contentType }, body };
}
