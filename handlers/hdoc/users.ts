/**
 * The 100DaysOfCloud users API, answering as its frontend reads (docs/apps/hdoc.md):
 * - `GET /user?username=X` and `GET /users?username=X`: the user, or 404 with a plain-text
 *   message;
 * - `GET /users`: the JSON array of the users, every one of them (or the
 *   first `limit`) up to what one Lambda response can carry; past that, the next page's
 *   cursor is in the `Link` (`rel="next"`) and `X-Next-Cursor` headers, never in the body.
 * Bodies are written as `simplejson.dumps(..., use_decimal=True)` writes them
 * (see simplejson.ts), with only the public attributes of each user, straight from the
 * DynamoDB JSON that GetItem and Scan answer.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import * as z from "zod/mini";
import type { AwsClientConfig } from "../lib/aws-json";
import { DynamoDBJson } from "../lib/dynamodb";
import { HDOC_ENV, HDOC_PAGING_HEADERS } from "../lib/env-names";
import { type ApiResponse, BadRequestError, textResponse } from "../lib/http-api";
import { requireEnv } from "../lib/env";
import { itemText } from "./simplejson";

const KEY = "github_username";

/** The 404 bodies the frontend reads: plain text, not JSON. */
export const USER_NOT_FOUND = "ERROR: user not found!";
export const USERNAME_MISSING = "username field in the body of the request is missing";

/** Which top-level attributes of a user the routes return: a list of them, or all but some. */
const publicAttributesSchema = z.union([z.strictObject({ only: z.array(z.string()) }), z.strictObject({ except: z.array(z.string()) })]);
export type PublicAttributes = z.infer<typeof publicAttributesSchema>;

/** Lambda's limit on a synchronous response: the whole JSON envelope, body escaped inside it. */
export const LAMBDA_RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024;
/** Room left for the envelope and the paging headers (a cursor is at most a few kilobytes). */
const ENVELOPE_MARGIN_BYTES = 64 * 1024;
/** DynamoDB refuses a partition key over 2048 bytes: a longer name cannot be a user. */
export const MAX_KEY_BYTES = 2048;
/** DynamoDB reads Scan's `Limit` as a 32-bit integer; a larger `limit` is read page by page anyway. */
const MAX_SCAN_LIMIT = 2 ** 31 - 1;

type Item = Record<string, AttributeValue>;

export interface UsersApi {
  dynamodb: DynamoDBJson;
  table: string;
  publicAttributes: PublicAttributes;
  /** The most a response may weigh in Lambda's envelope; Lambda's limit less a margin by default. */
  maxResponseBytes: number;
}

export function usersApi(
  config: AwsClientConfig,
  table: string,
  publicAttributes: PublicAttributes,
  maxResponseBytes = LAMBDA_RESPONSE_LIMIT_BYTES - ENVELOPE_MARGIN_BYTES,
): UsersApi {
  return { dynamodb: new DynamoDBJson(config), table, publicAttributes, maxResponseBytes };
}

/** The public-attributes setting from the function's environment, failing with the variable's name. */
export function publicAttributesFromEnv(env: NodeJS.ProcessEnv = process.env): PublicAttributes {
  const text = requireEnv(HDOC_ENV.publicAttributes, env);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = publicAttributesSchema.safeParse(value);
  if (!parsed.success)
    throw new Error(`environment variable ${HDOC_ENV.publicAttributes} must be {"only":[...]} or {"except":[...]} (got ${text})`);
  return parsed.data;
}

/** The client, table and settings from the function's environment, made once per container. */
export function usersApiFromEnv(env: NodeJS.ProcessEnv = process.env): UsersApi {
  return usersApi({}, requireEnv(HDOC_ENV.usersTable, env), publicAttributesFromEnv(env));
}

/** A user's JSON text with its public attributes only; each number with DynamoDB's digits (2^53+1 stays exact). */
function publicText(item: Item, attributes: PublicAttributes): string {
  return itemText(item, "only" in attributes ? (name) => attributes.only.includes(name) : (name) => !attributes.except.includes(name));
}

const jsonText = (statusCode: number, body: string) => textResponse(statusCode, body, "application/json");
const plainText = (statusCode: number, body: string) => textResponse(statusCode, body, "text/plain; charset=utf-8");

/**
 * One user: 200 with the user, 404 `ERROR: user not found!`, or 404 with the
 * missing-username text when `username` is absent or empty.
 */
export async function getUser(api: UsersApi, query: Record<string, string | undefined>): Promise<ApiResponse> {
  const username: unknown = query.username;
  if (typeof username !== "string" || username === "") return plainText(404, USERNAME_MISSING);
  if (Buffer.byteLength(username) > MAX_KEY_BYTES)
    throw new BadRequestError(`query parameter username is longer than ${MAX_KEY_BYTES} bytes`);
  const { Item } = await api.dynamodb.call<{ Item?: Item }>("GetItem", { TableName: api.table, Key: { [KEY]: { S: username } } });
  return Item ? jsonText(200, publicText(Item, api.publicAttributes)) : plainText(404, USER_NOT_FOUND);
}

/**
 * `limit`, as dev's `int(limit)` read it (spaces, a `+` and `_` between digits allowed),
 * positive as Scan's `Limit` must be; absent means every user.
 */
export function limitOf(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const text = typeof raw === "string" ? raw.trim() : "";
  if (!/^\+?\d+(?:_\d+)*$/.test(text) || !/[1-9]/.test(text)) throw new BadRequestError("query parameter limit must be a positive integer");
  return Math.min(Number(text.replace(/[+_]/g, "")), Number.MAX_SAFE_INTEGER);
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
  if (Buffer.byteLength(entries[0][1] as string) > MAX_KEY_BYTES)
    throw new BadRequestError(`query parameter cursor names a key longer than ${MAX_KEY_BYTES} bytes`);
  return { [KEY]: entries[0][1] as string };
}

/** What a piece of the body weighs inside Lambda's JSON envelope, where the body is a JSON string. */
const envelopeBytes = (text: string) => JSON.stringify(text).length - 2;

/**
 * `GET /users`: with `username`, the user as `getUser` answers; otherwise the users as a JSON
 * array, read Scan page by Scan page, until the table (or `limit`) is exhausted or the next
 * user would not fit in the response. Then the headers carry the cursor of the rest; `path`
 * is the request's path, for the `Link` header's relative URL.
 */
export async function listUsers(api: UsersApi, query: Record<string, string | undefined>, path = "/users"): Promise<ApiResponse> {
  if (query.username !== undefined) return getUser(api, query);
  const limit = limitOf(query.limit);
  const cursor = decodeCursor(query.cursor);
  let start: Item | undefined = cursor && { [KEY]: { S: cursor[KEY] } };
  const texts: string[] = [];
  let bytes = envelopeBytes("[]");
  let lastKey: string | undefined;
  let cutAfter: Record<string, unknown> | undefined;
  do {
    const Limit = limit === undefined ? undefined : Math.min(limit - texts.length, MAX_SCAN_LIMIT);
    const page = await api.dynamodb.call<{ Items?: Item[]; LastEvaluatedKey?: Item }>("Scan", {
      TableName: api.table,
      ExclusiveStartKey: start,
      Limit,
    });
    for (const item of page.Items ?? []) {
      const text = publicText(item, api.publicAttributes);
      const weight = envelopeBytes(text) + (texts.length > 0 ? envelopeBytes(", ") : 0);
      // One user always fits (an item is at most 400 KB); the next one may not.
      if (texts.length > 0 && bytes + weight > api.maxResponseBytes) {
        cutAfter = { [KEY]: lastKey };
        break;
      }
      texts.push(text);
      bytes += weight;
      lastKey = item[KEY].S;
    }
    start = page.LastEvaluatedKey;
  } while (!cutAfter && start && (limit === undefined || texts.length < limit));

  const response = jsonText(200, `[${texts.join(", ")}]`);
  const next = encodeCursor(cutAfter ?? (start && { [KEY]: start[KEY].S }));
  if (next) {
    const params = new URLSearchParams({ cursor: next });
    if (query.limit !== undefined) params.set("limit", String(limit));
    response.headers[HDOC_PAGING_HEADERS.link] = `<${path}?${params}>; rel="next"`;
    response.headers[HDOC_PAGING_HEADERS.nextCursor] = next;
  }
  return response;
}
