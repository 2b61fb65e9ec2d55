/**
 * The 100DaysOfCloud users API, as its frontend reads it (100DaysOfCloudBackend):
 * - `GET /user?username=X`: the user, or 404;
 * - `GET /users`: a JSON array of users, page by page: the next page's cursor is in the
 *   `Link` (`rel="next"`) and `X-Next-Cursor` headers, never in the body;
 * - `GET /users?username=X`: `[user]` or `[]`, as the backend's main branch answered it.
 * Pages are bounded: the endpoint never scans the whole table in one call.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { HDOC_ENV, HDOC_PAGING_HEADERS } from "../lib/env-names";
import { type ApiResponse, BadRequestError, jsonResponse } from "../lib/http-api";
import { requireEnv } from "../lib/env";

export interface UsersApi {
  documents: DynamoDBDocumentClient;
  table: string;
}

/** The client and table from the function's environment, made once per container. */
export function usersApiFromEnv(env: NodeJS.ProcessEnv = process.env): UsersApi {
  return { documents: DynamoDBDocumentClient.from(new DynamoDBClient({})), table: requireEnv(HDOC_ENV.usersTable, env) };
}

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;
const KEY = "github_username";
/** DynamoDB refuses a partition key over 2048 bytes: a longer name cannot be a user. */
export const MAX_KEY_BYTES = 2048;

/** The `username` parameter: required, trimmed, and short enough to be a key. */
function usernameOf(query: Record<string, string | undefined>): string {
  const raw: unknown = query.username;
  const username = typeof raw === "string" ? raw.trim() : "";
  if (!username) throw new BadRequestError("query parameter username is required");
  if (Buffer.byteLength(username) > MAX_KEY_BYTES) throw new BadRequestError(`query parameter username is longer than ${MAX_KEY_BYTES} bytes`);
  return username;
}

async function findUser(api: UsersApi, username: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await api.documents.send(new GetCommand({ TableName: api.table, Key: { [KEY]: username } }));
  return Item;
}

export async function getUser(api: UsersApi, query: Record<string, string | undefined>): Promise<ApiResponse> {
  const user = await findUser(api, usernameOf(query));
  return user ? jsonResponse(200, user) : jsonResponse(404, { message: "user not found" });
}

/** `limit`: an integer from 1 to 100; absent means 25. */
export function pageSize(raw: unknown): number {
  if (raw === undefined || raw === "") return DEFAULT_PAGE_SIZE;
  if (typeof raw !== "string") throw new BadRequestError(`query parameter limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  if (!/^\d+$/.test(raw)) throw new BadRequestError(`query parameter limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  const limit = Number(raw);
  if (limit < 1 || limit > MAX_PAGE_SIZE) throw new BadRequestError(`query parameter limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  return limit;
}

/**
 * The cursor is DynamoDB's LastEvaluatedKey, base64url-encoded. It is opaque to clients; a
 * cursor that does not decode to exactly that key's shape is refused. (It carries no
 * signature: a hand-made cursor can only name another start key, which reveals nothing a
 * page would not.)
 */
export function encodeCursor(key: Record<string, unknown> | undefined): string | null {
  return key ? Buffer.from(JSON.stringify(key)).toString("base64url") : null;
}

export function decodeCursor(cursor: unknown): Record<string, string> | undefined {
  if (cursor === undefined || cursor === "") return undefined;
  const invalid = new BadRequestError("query parameter cursor is invalid");
  // A LastEvaluatedKey of one string key never needs more than a few kilobytes.
  if (typeof cursor !== "string" || cursor.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid;
  }
  if (typeof key !== "object" || key === null || Array.isArray(key)) throw invalid;
  const entries = Object.entries(key);
  if (entries.length !== 1 || entries[0][0] !== KEY || typeof entries[0][1] !== "string" || entries[0][1] === "") throw invalid;
  if (Buffer.byteLength(entries[0][1] as string) > MAX_KEY_BYTES) throw new BadRequestError(`query parameter cursor names a key longer than ${MAX_KEY_BYTES} bytes`);
  return { [KEY]: entries[0][1] as string };
}

/**
 * A page of users as a JSON array. `path` is the request's path, for the `Link` header's
 * relative URL of the next page.
 */
export async function listUsers(api: UsersApi, query: Record<string, string | undefined>, path = "/users"): Promise<ApiResponse> {
  if (query.username !== undefined) {
    const user = await findUser(api, usernameOf(query));
    return jsonResponse(200, user ? [user] : []);
  }
  const limit = pageSize(query.limit);
  const start = decodeCursor(query.cursor);
  const page = await api.documents.send(new ScanCommand({ TableName: api.table, Limit: limit, ExclusiveStartKey: start }));
  const next = encodeCursor(page.LastEvaluatedKey);
  const response = jsonResponse(200, page.Items ?? []);
  if (next) {
    response.headers[HDOC_PAGING_HEADERS.link] = `<${path}?${new URLSearchParams({ cursor: next, limit: String(limit) })}>; rel="next"`;
    response.headers[HDOC_PAGING_HEADERS.nextCursor] = next;
  }
  return response;
}
