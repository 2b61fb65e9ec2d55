/**
 * The 100DaysOfCloud users API: one user by GitHub user name, and the users page by page.
 * Pages are bounded: the endpoint never scans the whole table in one call.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { HDOC_ENV } from "../env-names";
import { type ApiResponse, BadRequestError, jsonResponse } from "../http-api";
import { requireEnv } from "../env";

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

export async function getUser(api: UsersApi, query: Record<string, string | undefined>): Promise<ApiResponse> {
  const raw: unknown = query.username;
  const username = typeof raw === "string" ? raw.trim() : "";
  if (!username) throw new BadRequestError("query parameter username is required");
  const { Item } = await api.documents.send(new GetCommand({ TableName: api.table, Key: { [KEY]: username } }));
  return Item ? jsonResponse(200, Item) : jsonResponse(404, { message: "user not found" });
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
  return { [KEY]: entries[0][1] as string };
}

export async function listUsers(api: UsersApi, query: Record<string, string | undefined>): Promise<ApiResponse> {
  const limit = pageSize(query.limit);
  const start = decodeCursor(query.cursor);
  const page = await api.documents.send(new ScanCommand({ TableName: api.table, Limit: limit, ExclusiveStartKey: start }));
  return jsonResponse(200, { items: page.Items ?? [], nextCursor: encodeCursor(page.LastEvaluatedKey) });
}
