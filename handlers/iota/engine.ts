/**
 * The iota engine: applies each CloudEvent once per service, with the API and the journal
 * of @1mill/with-iota v1, and safer semantics where with-iota's can lose or double work:
 *
 * 1. The journal entry (with-iota's document: `{cloudevent, service, mutations, rapids}`,
 *    unique on cloudevent id, source, type and service id) is claimed in one round trip: an
 *    upsert that returns the document it found. The claim holds a lease that ends at the
 *    invocation's deadline, so that Lambda's retry of a timed-out invocation can take over.
 *    While another invocation holds the lease, a duplicate fails with a retryable error
 *    (with-iota skipped it, losing the event if the first failed); once the entry is
 *    committed, duplicates are skipped. An entry with-iota wrote counts as committed.
 * 2. The function stages mutations and events. Staged events are checked against
 *    EventBridge's size limit before anything is written.
 * 3. One transaction commits the journal entry (`service.endedAt`, `mutations`, `rapids`),
 *    every mutation in order, and the ids of the events still to send (`outbox`). Either all
 *    of it applies or none of it does (with-iota applied mutations one by one, outside a
 *    transaction).
 * 4. Only then are the events put to EventBridge, 10 per request. Failed entries are retried
 *    with backoff; what is still unsent stays in the outbox and the invocation throws, so
 *    that a retry of the event sends only what is left. Nothing is emitted when the function
 *    or the commit fails (with-iota emitted what was staged regardless).
 * 5. A committed entry with nothing left to send expires after the retention period (a TTL
 *    index on `expiresAt`): at least 15 days, longer than an event can come back (a rule
 *    target's dead-letter queue keeps it 14 days, after EventBridge's 24 hours of retries).
 *    An event older than the retention may have lost its entry: unless its entry is still
 *    there, it is refused as SKIPPED, with a log (with-iota kept every entry forever).
 */
import { v7 as uuidv7 } from "uuid";
import { maskEmails } from "../lib/mask";
import {
  buildRapid,
  type CloudEvent,
  cloudEventOf,
  dataOf,
  fromJournalForm,
  IotaInputError,
  journalForm,
  type PutEventsEntry,
  type RapidInput,
  toEntry,
} from "./cloudevents";

/** with-iota v1's mutation actions. */
export const MutationAction = { CREATE: "create", DELETE: "delete", INCREMENT: "increment", SET: "set" } as const;
export type MutationAction = (typeof MutationAction)[keyof typeof MutationAction];
/** with-iota v1's mutation versions: how a mutation is applied. */
export const MutationVersion = { v2023_09_27: "2023-09-27" } as const;
export type MutationVersion = (typeof MutationVersion)[keyof typeof MutationVersion];
/** The older README's named constants, still in with-iota's documentation. */
export const { CREATE, DELETE, INCREMENT, SET } = MutationAction;

/** What `withIota` returns for an event that was already applied. */
export const SKIPPED = "SKIPPED";

/** A staged mutation, as with-iota v1 records it in the journal. */
export interface Mutation {
  action: MutationAction;
  id: string;
  props: Record<string, unknown>;
  table: string;
  version: MutationVersion;
}

/** What `mutation.stage()` takes: `table` names the collection (`type` is the older README's name for it). */
export interface MutationInput {
  action: MutationAction;
  id?: string;
  props?: Record<string, unknown>;
  table?: string;
  type?: string;
  version?: MutationVersion;
}

/** The journal key: the event and the service applying it (with-iota's unique index). */
export interface JournalKey {
  cloudeventId: string;
  source: string;
  type: string;
  serviceId: string;
}

export interface Lease {
  /** The invocation holding the entry. */
  owner: string;
  /** The end of the lease: the holder's deadline. */
  expiresAt: Date;
}

/** with-iota v1's journal document, with our own `lease`, `outbox` and `expiresAt`. */
export interface JournalEntry {
  cloudevent: CloudEvent;
  service: { id: string; startedAt: string; endedAt: string | null };
  mutations: Mutation[] | null;
  rapids: CloudEvent[] | null;
  lease?: Lease;
  /** Ids of committed events not yet sent to EventBridge. */
  outbox?: string[];
  /** When MongoDB's TTL index may remove the entry: set while nothing is left to send. */
  expiresAt?: Date;
}

/** Another invocation holds the event: retrying later is right, reporting success is not. */
export class EventInProgressError extends Error {
  readonly retryable = true;
  constructor(key: JournalKey) {
    super(`cloudevent ${key.cloudeventId} (${key.type} from ${key.source}) is being applied by another invocation of ${key.serviceId}`);
    this.name = "EventInProgressError";
  }
}

/** Events that are committed but not yet sent; they stay in the outbox for the next attempt. */
export class UnsentEventsError extends Error {
  readonly retryable = true;
  constructor(
    readonly unsent: { eventId: string; error: string }[],
    key: JournalKey,
  ) {
    super(
      `cloudevent ${key.cloudeventId}: ${unsent.length} staged event(s) not sent to EventBridge yet: ${unsent.map((u) => `${u.eventId} (${u.error})`).join("; ")}`,
    );
    this.name = "UnsentEventsError";
  }
}

/** A query result, as the MongoDB driver's cursor: iterate it, or take every document. */
export interface Cursor extends AsyncIterable<Record<string, unknown>> {
  toArray(): Promise<Record<string, unknown>[]>;
}

/** The read helpers a function gets, with-iota's: the collection's name first, then the driver method's own arguments. */
export interface Readers {
  countDocuments(collection: string, filter?: Record<string, unknown>, options?: Record<string, unknown>): Promise<number>;
  distinct(collection: string, key: string, filter?: Record<string, unknown>): Promise<unknown[]>;
  find(collection: string, filter?: Record<string, unknown>, options?: Record<string, unknown>): Promise<Cursor>;
  findOne(collection: string, filter?: Record<string, unknown>, options?: Record<string, unknown>): Promise<Record<string, unknown> | null>;
}

/** What the engine needs from the database; MongoStore is the real one. */
export interface IotaStore {
  /** Creates the journal's unique index and its TTL index; the engine calls it once per container. */
  ensureIndexes(): Promise<void>;
  /** Inserts `entry` unless its key has one: in one round trip. Returns the entry found, or undefined when this call inserted it. */
  claim(key: JournalKey, entry: JournalEntry): Promise<JournalEntry | undefined>;
  /** The entry of `key`, if there is one; nothing is written. */
  find(key: JournalKey): Promise<JournalEntry | undefined>;
  /**
   * Takes the entry over with `lease` if it is still committed or not as `committed` says,
   * and its lease has ended by `now` (an entry with-iota left without a lease: once it
   * started before `foreignCutoff`). False if someone else holds it.
   */
  takeOver(key: JournalKey, committed: boolean, lease: Lease, now: Date, foreignCutoff: Date): Promise<boolean>;
  /** Ends `owner`'s lease at once, so that a retry need not wait for it. */
  release(key: JournalKey, owner: string): Promise<void>;
  /**
   * In one transaction: records the entry committed (if `owner` still holds it) with its
   * mutations, events and unsent event ids, and applies the mutations in order.
   */
  commit(
    key: JournalKey,
    owner: string,
    done: { endedAt: string; mutations: Mutation[]; rapids: CloudEvent[]; outbox: string[]; expiresAt?: Date },
  ): Promise<void>;
  /** Takes sent events out of the outbox; `expiresAt` when that empties it. */
  markSent(key: JournalKey, eventIds: string[], expiresAt?: Date): Promise<void>;
  readers: Readers;
}

export interface PutEventsResult {
  FailedEntryCount?: number;
  Entries?: { EventId?: string; ErrorCode?: string; ErrorMessage?: string }[];
}

/** Sends one PutEvents request (at most 10 entries). */
export type PutEvents = (entries: PutEventsEntry[]) => Promise<PutEventsResult>;

export interface IotaOptions {
  serviceId: string;
  eventBusName: string;
  store: IotaStore;
  putEvents: PutEvents;
  /** How long a claim holds the event when the invocation has no deadline (`ctx.getRemainingTimeInMillis`), in ms. */
  leaseMs?: number;
  /** How long a committed entry is kept once nothing is left to send, in ms (default 15 days); an older event is refused unless its entry is there. */
  retentionMs?: number;
  /** Rounds of retries for failed PutEvents entries. */
  emitRetries?: number;
  /** Backoff before retry round `n` (1-based), in ms. */
  emitBackoffMs?: (round: number) => number;
  now?: () => Date;
  /** Where a refused old event is reported; a JSON line on stderr by default. */
  warn?: (message: string, details: Record<string, unknown>) => void;
}

export const PUT_EVENTS_BATCH = 10;
const DAY_MS = 24 * 3600 * 1000;
/**
 * The shortest retention that outlives every way an event comes back: a rule target's
 * dead-letter queue keeps it 14 days (DEAD_LETTER_RETENTION_SECONDS), after EventBridge's
 * retries of up to 24 hours. apps/iota/settings.ts derives the same from those limits.
 */
export const MIN_RETENTION_DAYS = 15;
export const DEFAULT_RETENTION_MS = MIN_RETENTION_DAYS * DAY_MS;
/** An entry with-iota is still writing holds no lease; after Lambda's longest run (15 minutes) it can no longer be running. */
export const FOREIGN_ENTRY_GRACE_MS = 15 * 60 * 1000;

/** What the claim of a journal entry found. */
export type ClaimDecision = "take-over" | "busy" | "resend" | "skip";

/**
 * The lease rules, as a pure function of the entry found:
 * - not committed, lease ended (or released after a failure): take it over;
 * - not committed, lease held: busy, retry later;
 * - committed with unsent events and no live lease: resend them;
 * - committed, all sent (every entry with-iota committed), or being resent: skip or busy.
 */
export function decide(entry: JournalEntry, now: Date): ClaimDecision {
  const committed = entry.service.endedAt !== null && entry.service.endedAt !== undefined;
  const leaseEnds = entry.lease ? entry.lease.expiresAt.getTime() : Date.parse(entry.service.startedAt) + FOREIGN_ENTRY_GRACE_MS;
  const leaseLive = leaseEnds > now.getTime();
  if (!committed) return leaseLive ? "busy" : "take-over";
  if ((entry.outbox ?? []).length === 0) return "skip";
  return leaseLive ? "busy" : "resend";
}

/** The event's time (its `time`, else its EventBridge envelope's), in ms; undefined when it has none that parses. */
export function eventTime(event: unknown, cloudevent: CloudEvent): number | undefined {
  const envelope = cloudevent === event ? undefined : (event as { time?: unknown }).time;
  for (const time of [cloudevent.time, envelope]) {
    const ms = typeof time === "string" ? Date.parse(time) : NaN;
    if (!Number.isNaN(ms)) return ms;
  }
  return undefined;
}

/** A log line as the logger writes one, e-mail addresses masked, without the logger's weight in iota's bundle. */
const warnAsJson = (message: string, details: Record<string, unknown>) =>
  console.warn(maskEmails(JSON.stringify({ level: "WARN", message, ...details })));

/** The key with-iota's unique index is on. */
export function journalKey(cloudevent: CloudEvent, serviceId: string): JournalKey {
  return { cloudeventId: cloudevent.id, source: cloudevent.source, type: cloudevent.type, serviceId };
}

/** Plain objects with their keys sorted, recursively, as with-iota stores props; other values (dates, ids) as they are. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}

const ACTIONS: readonly string[] = Object.values(MutationAction);
const VERSIONS: readonly string[] = Object.values(MutationVersion);

/** Validates one mutation as with-iota v1 does, naming the bad field; a create without an id gets `rn_<uuidv7>`. */
export function stageMutation(staged: Mutation[], input: MutationInput): Mutation {
  if (!ACTIONS.includes(input?.action))
    throw new IotaInputError(`mutation.stage: action must be one of ${ACTIONS.join(", ")} (got ${JSON.stringify(input?.action)})`);
  const table = input.table ?? input.type;
  if (typeof table !== "string" || table === "")
    throw new IotaInputError("mutation.stage: table (or its older name, type) must be a non-empty string");
  const props = input.props ?? {};
  if (typeof props !== "object" || props === null || Array.isArray(props))
    throw new IotaInputError("mutation.stage: props must be an object");
  if (input.action === INCREMENT) {
    const bad = Object.entries(props).find(([, by]) => typeof by !== "number" || !Number.isFinite(by));
    if (bad) throw new IotaInputError(`mutation.stage: increment props.${bad[0]} must be a number`);
  }
  const id = input.action === CREATE ? (input.id ?? `rn_${uuidv7()}`) : input.id;
  if (typeof id !== "string" || id === "") throw new IotaInputError(`mutation.stage: ${input.action} needs an id (a non-empty string)`);
  const version = input.version ?? MutationVersion.v2023_09_27;
  if (!VERSIONS.includes(version))
    throw new IotaInputError(`mutation.stage: version must be one of ${VERSIONS.join(", ")} (got ${JSON.stringify(version)})`);
  const mutation: Mutation = { action: input.action, id, props: sortKeys(props) as Record<string, unknown>, table, version };
  staged.push(mutation);
  return mutation;
}

/** The parts of a Lambda context the engine reads. */
export interface InvocationContext {
  getRemainingTimeInMillis?: () => number;
  callbackWaitsForEmptyEventLoop?: boolean;
}

export interface FuncContext<Ctx> {
  cloudevent: CloudEvent;
  ctx: Ctx;
  data: unknown;
  event: unknown;
  mutation: { stage(input: MutationInput): Mutation; staged: Mutation[] };
  rapids: { stage(input: RapidInput): CloudEvent; staged: CloudEvent[] };
  countDocuments: Readers["countDocuments"];
  distinct: Readers["distinct"];
  find: Readers["find"];
  findOne: Readers["findOne"];
}

export type IotaFunc<Ctx, R> = (context: FuncContext<Ctx>) => R | Promise<R>;

export class Iota {
  private indexes?: Promise<void>;
  private readonly now: () => Date;

  constructor(private readonly options: IotaOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Applies `event` once: `func`'s value, or SKIPPED when it was already applied. */
  async withIota<Ctx, R>(event: unknown, ctx: Ctx, { func }: { func: IotaFunc<Ctx, R> }): Promise<R | typeof SKIPPED> {
    const invocation = (ctx ?? {}) as InvocationContext;
    // The MongoDB connection stays open between invocations; Lambda must not wait for it to close.
    if (typeof ctx === "object" && ctx !== null) invocation.callbackWaitsForEmptyEventLoop = false;
    const cloudevent = cloudEventOf(event);
    const { store, serviceId } = this.options;
    const key = journalKey(cloudevent, serviceId);
    // Once per container, not once per call: a failed attempt is retried by the next call.
    this.indexes ??= store.ensureIndexes().catch((err) => {
      this.indexes = undefined;
      throw err;
    });
    await this.indexes;

    const now = this.now();
    // The lease ends at this invocation's deadline: a retry after a timeout can take over at once.
    const remaining = invocation.getRemainingTimeInMillis?.();
    const lease: Lease = { owner: uuidv7(), expiresAt: new Date(now.getTime() + (remaining ?? this.options.leaseMs ?? 5 * 60_000)) };
    const time = eventTime(event, cloudevent);
    const ageMs = time === undefined ? 0 : now.getTime() - time;
    const retentionMs = this.options.retentionMs ?? DEFAULT_RETENTION_MS;
    // Its entry, if it was applied, may have expired: only what the journal still holds can be decided.
    const tooOld = ageMs > retentionMs;
    const found = tooOld
      ? await store.find(key)
      : await store.claim(key, {
          cloudevent: journalForm(cloudevent),
          service: { id: serviceId, startedAt: now.toISOString(), endedAt: null },
          mutations: null,
          rapids: null,
          lease,
          expiresAt: this.expiry(now),
        });
    if (tooOld && !found) {
      (this.options.warn ?? warnAsJson)(
        "cloudevent older than the journal's retention refused as SKIPPED: it may have been applied already",
        {
          cloudeventId: cloudevent.id,
          source: cloudevent.source,
          type: cloudevent.type,
          serviceId,
          ageDays: Math.round((ageMs / DAY_MS) * 100) / 100,
          retentionDays: retentionMs / DAY_MS,
        },
      );
      return SKIPPED;
    }
    if (found) {
      const decision = decide(found, now);
      if (decision === "skip") return SKIPPED;
      const committed = decision === "resend";
      // Someone else may have taken it between the claim and this conditional write.
      if (decision === "busy" || !(await store.takeOver(key, committed, lease, now, new Date(now.getTime() - FOREIGN_ENTRY_GRACE_MS)))) {
        throw new EventInProgressError(key);
      }
      if (committed) {
        const unsent = new Set(found.outbox);
        await this.emit(key, lease.owner, (found.rapids ?? []).filter((e) => unsent.has(e.id)).map(fromJournalForm));
        return SKIPPED;
      }
    }

    let result: R;
    let rapids: CloudEvent[];
    try {
      const data = dataOf(cloudevent);
      const staged = { mutations: [] as Mutation[], events: [] as CloudEvent[] };
      result = await func({
        cloudevent,
        ctx,
        data,
        event,
        mutation: { stage: (input) => stageMutation(staged.mutations, input), staged: staged.mutations },
        rapids: {
          stage: (input) => {
            const rapid = buildRapid(input, serviceId, cloudevent, this.now);
            staged.events.push(rapid);
            return rapid;
          },
          staged: staged.events,
        },
        countDocuments: store.readers.countDocuments,
        distinct: store.readers.distinct,
        find: store.readers.find,
        findOne: store.readers.findOne,
      });
      rapids = staged.events;
      // Checked before anything commits: an event EventBridge would refuse fails the whole call.
      for (const rapid of rapids) toEntry(rapid, this.options.eventBusName);
      const endedAt = this.now();
      await store.commit(key, lease.owner, {
        endedAt: endedAt.toISOString(),
        mutations: staged.mutations,
        rapids: rapids.map(journalForm),
        outbox: rapids.map((e) => e.id),
        expiresAt: rapids.length === 0 ? this.expiry(endedAt) : undefined,
      });
    } catch (err) {
      await store.release(key, lease.owner).catch(() => undefined);
      throw err;
    }
    await this.emit(key, lease.owner, rapids);
    return result;
  }

  private expiry(from: Date): Date {
    return new Date(from.getTime() + (this.options.retentionMs ?? DEFAULT_RETENTION_MS));
  }

  /** Puts the events, 10 per request, retrying failed entries; throws if any stay unsent. */
  private async emit(key: JournalKey, owner: string, events: CloudEvent[]): Promise<void> {
    let pending = events;
    let left = events.length;
    const errors = new Map<string, string>();
    const rounds = this.options.emitRetries ?? 3;
    for (let round = 0; pending.length > 0 && round <= rounds; round++) {
      if (round > 0)
        await new Promise((r) => setTimeout(r, this.options.emitBackoffMs?.(round) ?? 100 * 2 ** round * (0.5 + Math.random())));
      const failed: CloudEvent[] = [];
      for (let i = 0; i < pending.length; i += PUT_EVENTS_BATCH) {
        const batch = pending.slice(i, i + PUT_EVENTS_BATCH);
        try {
          const result = await this.options.putEvents(batch.map((e) => toEntry(e, this.options.eventBusName)));
          const sent: string[] = [];
          batch.forEach((event, j) => {
            const answer = result.Entries?.[j];
            if (answer?.ErrorCode || !answer?.EventId) {
              failed.push(event);
              errors.set(event.id, answer?.ErrorCode ? `${answer.ErrorCode}: ${answer.ErrorMessage ?? ""}` : "no result for the entry");
            } else {
              sent.push(event.id);
            }
          });
          left -= sent.length;
          if (sent.length > 0) await this.options.store.markSent(key, sent, left === 0 ? this.expiry(this.now()) : undefined);
        } catch (err) {
          failed.push(...batch);
          for (const event of batch) errors.set(event.id, (err as Error).message);
        }
      }
      pending = failed;
    }
    if (pending.length > 0) {
      // Free the entry at once, so that the event's retry can resend without waiting for the lease.
      await this.options.store.release(key, owner).catch(() => undefined);
      throw new UnsentEventsError(
        pending.map((e) => ({ eventId: e.id, error: errors.get(e.id) ?? "unknown" })),
        key,
      );
    }
  }
}
