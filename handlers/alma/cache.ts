/**
 * The Alma cache in DynamoDB: loans, requests, and each user's `loan_ids` and `request_ids`,
 * kept as the neighbours' schemas store them (see schema.ts), safe under concurrent and
 * out-of-order events:
 *
 * - The id lists are DynamoDB Lists of strings. An id is appended in one conditional update,
 *   only while the user is cached and valid and the list does not hold it yet; an id is
 *   removed by position, conditioned on that position still holding it, and retried after a
 *   random pause when a concurrent removal moved it. So concurrent events never lose or
 *   duplicate an id, and a redelivered event changes nothing.
 * - A loan or request is written only if no newer Alma event wrote it (the event's time is
 *   kept on the item), and a returned loan or closed request leaves a tombstone that lives
 *   longer than any event can arrive late (older events are refused), so that an older event
 *   cannot bring it back.
 */
import { BudgetExhaustedError, type TimeBudget } from "../lib/budget";
import { documentsOf, type DynamoDBDocuments } from "../lib/dynamodb";
import { requireEnv } from "../lib/env";
import { ALMA_ENV } from "../lib/env-names";
import { SqsSender } from "../lib/sqs-send";
import { EVENT_TIME_ATTRIBUTE } from "./schema";

export interface AlmaCacheClients {
  /** The tables, through `documentsOf(config)`. */
  documents: DynamoDBDocuments;
  sqs: SqsSender;
  tables: { users: string; loans: string; requests: string; tombstones: string };
  usersQueueUrl: string;
  /** The clock, in ms. */
  now: () => number;
}

/** Clients and names from the function's environment; a missing variable fails at cold start. */
export function clientsFromEnv(env: NodeJS.ProcessEnv = process.env): AlmaCacheClients {
  return {
    documents: documentsOf(),
    sqs: new SqsSender(),
    tables: {
      users: requireEnv(ALMA_ENV.usersTable, env),
      loans: requireEnv(ALMA_ENV.loansTable, env),
      requests: requireEnv(ALMA_ENV.requestsTable, env),
      tombstones: requireEnv(ALMA_ENV.tombstonesTable, env),
    },
    usersQueueUrl: requireEnv(ALMA_ENV.usersQueueUrl, env),
    now: Date.now,
  };
}

export type IdList = "loan_ids" | "request_ids";

/**
 * What one message did:
 * - `linked`/`unlinked`: the id was added to or removed from the user's list;
 * - `unchanged`: the list already said so (a redelivery);
 * - `queued`: the user is not cached, or has expired, and was sent to the bulk-update service;
 * - `unlinkedRecord`: the item was written or deleted, but the message names no user;
 * - `stale`: a newer event, or the item's return or closing, already won, or the event is
 *   older than a tombstone lives; the item and the list are left as they are (a stale close
 *   still leaves its tombstone).
 */
export type Outcome = "linked" | "unlinked" | "unchanged" | "queued" | "unlinkedRecord" | "stale";

const DAY_SECONDS = 24 * 3600;

/**
 * How long a tombstone keeps an older event from bringing a returned loan or closed request
 * back, and so how old an event may be and still be applied (older ones are refused as
 * stale). The latest an event can arrive: 14 days in its function's queue (its retention; the
 * failed-events queue keeps a message's first enqueue time, so it adds nothing), 14 more once
 * `start-message-move-task` or a hand-sent body puts it back in the queue as a new message,
 * and a week for a replay by hand (`npm run invoke`). A test ties it to the queues' retention.
 */
export const TOMBSTONE_TTL_SECONDS = (14 + 14 + 7) * DAY_SECONDS;

/** Why an event is refused as stale, when it is older than a tombstone lives; undefined otherwise. */
export function tooOld(eventMs: number, nowMs: number): string | undefined {
  const ageSeconds = (nowMs - eventMs) / 1000;
  if (ageSeconds <= TOMBSTONE_TTL_SECONDS) return undefined;
  return `the event is ${(ageSeconds / DAY_SECONDS).toFixed(1)} days old, older than a tombstone lives (${TOMBSTONE_TTL_SECONDS / DAY_SECONDS} days)`;
}

/** Adding an id to a list that the user changed in between is retried this many times (an append never races another). */
const MAX_ADD_ATTEMPTS = 5;
/** A removal that a concurrent removal moved is retried after a random pause of up to this, doubling from the first... */
const FIRST_BACKOFF_MS = 20;
/** ...to at most this, for as long as the invocation's time budget lasts. */
const MAX_BACKOFF_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isConditionFailure(err: unknown): boolean {
  return (err as { name?: string })?.name === "ConditionalCheckFailedException";
}

/** A record's table and key, and the tombstone key it leaves when it closes. */
export interface RecordRef {
  table: string;
  keyName: "loan_id" | "request_id";
  id: string;
}

const tombstoneId = (ref: RecordRef) => `${ref.keyName === "loan_id" ? "loan" : "request"}:${ref.id}`;

/**
 * Writes a loan or request unless a newer event wrote it, then checks for its tombstone:
 * if the item was returned or closed by an event at least as new, the write is undone.
 * Returns why nothing stays written, or undefined when the item is written.
 */
export async function putRecord(
  clients: AlmaCacheClients,
  ref: RecordRef,
  item: Record<string, unknown>,
  eventMs: number,
): Promise<string | undefined> {
  const { documents } = clients;
  const names = { "#time": EVENT_TIME_ATTRIBUTE };
  try {
    await documents.put({
      TableName: ref.table,
      Item: { ...item, [EVENT_TIME_ATTRIBUTE]: eventMs },
      ConditionExpression: "attribute_not_exists(#time) OR #time <= :time",
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ":time": eventMs },
    });
  } catch (err) {
    if (isConditionFailure(err)) return "a newer event wrote the item";
    throw err;
  }
  // After the write, not before: a return that lands between a check and the write would
  // otherwise be overwritten.
  const tombstone = await documents.get({ TableName: clients.tables.tombstones, Key: { id: tombstoneId(ref) }, ConsistentRead: true });
  if (!tombstone || tombstone.closed_ms < eventMs) return undefined;
  try {
    // Undo only this event's own write: a newer event's write stays.
    await documents.delete({
      TableName: ref.table,
      Key: { [ref.keyName]: ref.id },
      ConditionExpression: "#time = :time",
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ":time": eventMs },
    });
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
  return "a return or close at least as new removed the item";
}

/**
 * Removes a returned loan or closed request: first a tombstone (kept TOMBSTONE_TTL_SECONDS),
 * then the item, unless a newer event wrote it. Returns why the item stays, or undefined
 * when it is gone.
 */
export async function closeRecord(clients: AlmaCacheClients, ref: RecordRef, eventMs: number): Promise<string | undefined> {
  const { documents } = clients;
  try {
    await documents.update({
      TableName: clients.tables.tombstones,
      Key: { id: tombstoneId(ref) },
      UpdateExpression: "SET closed_ms = :closed, expires_at = :expires",
      ConditionExpression: "attribute_not_exists(closed_ms) OR closed_ms < :closed",
      ExpressionAttributeValues: {
        ":closed": eventMs,
        ":expires": Math.floor(Math.max(eventMs, clients.now()) / 1000) + TOMBSTONE_TTL_SECONDS,
      },
    });
  } catch (err) {
    // A tombstone at least as new is already there: a redelivery.
    if (!isConditionFailure(err)) throw err;
  }
  try {
    await documents.delete({
      TableName: ref.table,
      Key: { [ref.keyName]: ref.id },
      ConditionExpression: "attribute_not_exists(#time) OR #time <= :time",
      ExpressionAttributeNames: { "#time": EVENT_TIME_ATTRIBUTE },
      ExpressionAttributeValues: { ":time": eventMs },
    });
    return undefined;
  } catch (err) {
    if (isConditionFailure(err)) return "a newer event wrote the item";
    throw err;
  }
}

interface CachedUser {
  primary_id: string;
  expiry_date?: number;
  loan_ids?: unknown;
  request_ids?: unknown;
}

async function readUser(clients: AlmaCacheClients, key: string): Promise<CachedUser | undefined> {
  return (await clients.documents.get({ TableName: clients.tables.users, Key: { primary_id: key }, ConsistentRead: true })) as
    | CachedUser
    | undefined;
}

/** Valid as the neighbours' `getValid` has it: cached, and `expiry_date` not yet passed (inclusive). */
function isValid(user: CachedUser | undefined, nowSeconds: number): user is CachedUser {
  return user !== undefined && typeof user.expiry_date === "number" && user.expiry_date >= nowSeconds;
}

const nowSeconds = (clients: AlmaCacheClients) => Math.floor(clients.now() / 1000);

/**
 * Appends `id` to the user's list in one conditional update. When the condition fails, one
 * read tells why: the id is there already (unchanged), or the user is not cached or has
 * expired (queued for the bulk-update service, with the id as Alma sent it).
 */
export async function addToUser(clients: AlmaCacheClients, userId: string, list: IdList, id: string): Promise<Outcome> {
  const key = userId.toLowerCase();
  for (let attempt = 1; attempt <= MAX_ADD_ATTEMPTS; attempt++) {
    try {
      await clients.documents.update({
        TableName: clients.tables.users,
        Key: { primary_id: key },
        UpdateExpression: "SET #list = list_append(if_not_exists(#list, :empty), :ids)",
        ConditionExpression: "attribute_exists(primary_id) AND expiry_date >= :now AND NOT contains(#list, :id)",
        ExpressionAttributeNames: { "#list": list },
        ExpressionAttributeValues: { ":empty": [], ":ids": [id], ":id": id, ":now": nowSeconds(clients) },
      });
      return "linked";
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const user = await readUser(clients, key);
    if (!isValid(user, nowSeconds(clients))) {
      await queueUser(clients, userId);
      return "queued";
    }
    if (Array.isArray(user[list]) && (user[list] as unknown[]).includes(id)) return "unchanged";
    // The user changed between the update and the read (it was just loaded): try again.
  }
  throw new Error(`could not add ${id} to ${list} of user ${key}: the user kept changing (${MAX_ADD_ATTEMPTS} attempts)`);
}

/**
 * Removes every occurrence of `id` from the user's list: read the list, then remove those
 * positions, conditioned on each still holding `id`. A concurrent append does not move them;
 * a concurrent removal of an id before them does. Then the read and removal are repeated
 * after a random pause (full jitter, doubling up to MAX_BACKOFF_MS), which spreads many
 * removals on one user apart, for as long as `budget` lasts: past it, the message fails and
 * SQS hands it out again.
 */
export async function removeFromUser(
  clients: AlmaCacheClients,
  userId: string,
  list: IdList,
  id: string,
  budget: TimeBudget,
): Promise<Outcome> {
  const key = userId.toLowerCase();
  for (let attempt = 1; ; attempt++) {
    const user = await readUser(clients, key);
    if (!isValid(user, nowSeconds(clients))) {
      await queueUser(clients, userId);
      return "queued";
    }
    const ids = Array.isArray(user[list]) ? (user[list] as unknown[]) : [];
    const positions = ids.flatMap((value, i) => (value === id ? [i] : []));
    if (positions.length === 0) return "unchanged";
    try {
      await clients.documents.update({
        TableName: clients.tables.users,
        Key: { primary_id: key },
        // Highest position first: each removal then leaves the positions still to remove where they were.
        UpdateExpression: `REMOVE ${[...positions]
          .reverse()
          .map((i) => `#list[${i}]`)
          .join(", ")}`,
        ConditionExpression: [...positions.map((i) => `#list[${i}] = :id`), "expiry_date >= :now"].join(" AND "),
        ExpressionAttributeNames: { "#list": list },
        ExpressionAttributeValues: { ":id": id, ":now": nowSeconds(clients) },
      });
      return "unlinked";
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const pause = Math.random() * Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 1));
    if (budget.remainingMs() <= pause) {
      throw new BudgetExhaustedError(`${id} could be removed from ${list} of user ${key}: the list kept changing (${attempt} attempts)`);
    }
    await sleep(pause);
  }
}

/** Asks the bulk-update service to load a user the cache does not know (or knows too old): the id as Alma sent it, as that service reads it. */
export async function queueUser(clients: AlmaCacheClients, userId: string): Promise<void> {
  await clients.sqs.sendMessage({ QueueUrl: clients.usersQueueUrl, MessageBody: userId });
}
