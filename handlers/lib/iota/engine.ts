/**
 * The iota engine: applies each CloudEvent once per service.
 *
 * 1. A journal entry keyed by (cloudevent id, source, type, service id) is claimed with a
 *    lease. While another invocation holds an unexpired lease, a duplicate fails with a
 *    retryable error; once the entry is committed, duplicates are skipped.
 * 2. The function stages mutations and events. Staged events are checked against
 *    EventBridge's size limit before anything is written.
 * 3. One transaction commits the journal entry, every mutation in order, and the staged
 *    events into the entry's outbox. Either all of it applies or none of it does.
 * 4. Only then are the events put to EventBridge, 10 per request. Failed entries are retried
 *    with backoff; what is still unsent stays in the outbox and the invocation throws, so
 *    that a retry of the event sends only what is left, without applying anything again.
 */
import { randomUUID } from "node:crypto";
import { buildRapid, type CloudEvent, cloudEventOf, dataOf, IotaInputError, type PutEventsEntry, type RapidInput, toEntry } from "./cloudevents";

export const CREATE = "CREATE";
export const DELETE = "DELETE";
export const INCREMENT = "INCREMENT";
export const SET = "SET";
export type Action = typeof CREATE | typeof DELETE | typeof INCREMENT | typeof SET;
const ACTIONS: readonly string[] = [CREATE, DELETE, INCREMENT, SET];

/** What `withIota` returns for an event that was already applied. */
export const SKIPPED = "SKIPPED";

export interface Mutation {
  action: Action;
  table: string;
  id: string;
  props?: Record<string, unknown>;
}

/** The journal key: the event and the service applying it. */
export interface JournalKey {
  cloudeventId: string;
  source: string;
  type: string;
  serviceId: string;
}

export interface OutboxEvent {
  eventId: string;
  entry: PutEventsEntry;
  sent: boolean;
}

export interface JournalEntry {
  status: "pending" | "committed";
  leaseOwner?: string;
  leaseExpiresAt?: Date;
  outbox?: OutboxEvent[];
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
    super(`cloudevent ${key.cloudeventId}: ${unsent.length} staged event(s) not sent to EventBridge yet: ${unsent.map((u) => `${u.eventId} (${u.error})`).join("; ")}`);
    this.name = "UnsentEventsError";
  }
}

/** What the engine needs from the database; MongoStore is the real one. */
export interface IotaStore {
  /** Creates the journal's unique index; the engine calls it once per container. */
  ensureIndexes(): Promise<void>;
  /** The entry, if any. */
  get(key: JournalKey): Promise<JournalEntry | undefined>;
  /** Creates a pending entry owned by `owner`; false when one exists already. */
  insertPending(key: JournalKey, owner: string, leaseExpiresAt: Date): Promise<boolean>;
  /** Takes the entry over if it is still in `status` and its lease expired by `now`; false if someone else holds it. */
  takeOver(key: JournalKey, status: JournalEntry["status"], owner: string, now: Date, leaseExpiresAt: Date): Promise<boolean>;
  /** Ends `owner`'s lease at once, so that a retry need not wait for it to expire. */
  release(key: JournalKey, owner: string): Promise<void>;
  /** In one transaction: marks the entry committed with its outbox, if `owner` still holds it, and applies the mutations in order. */
  commit(key: JournalKey, owner: string, mutations: Mutation[], outbox: OutboxEvent[]): Promise<void>;
  /** Marks outbox events sent. */
  markSent(key: JournalKey, eventIds: string[]): Promise<void>;
  readers: Readers;
}

export interface Readers {
  countDocuments(collection: string, ...args: unknown[]): Promise<number>;
  distinct(collection: string, ...args: unknown[]): Promise<unknown[]>;
  find(collection: string, ...args: unknown[]): Promise<Record<string, unknown>[]>;
  findOne(collection: string, ...args: unknown[]): Promise<Record<string, unknown> | null>;
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
  /** How long a claim holds the event, in ms; a crashed invocation frees it after this. */
  leaseMs?: number;
  /** Rounds of retries for failed PutEvents entries. */
  emitRetries?: number;
  /** Backoff before retry round `n` (1-based), in ms. */
  emitBackoffMs?: (round: number) => number;
  now?: () => Date;
}

export const PUT_EVENTS_BATCH = 10;

/** What the claim of a journal entry found. */
export type ClaimDecision = "claim" | "take-over" | "busy" | "resend" | "skip";

/**
 * The lease rules, as a pure function of the entry found:
 * - none: claim it;
 * - pending, lease expired (or released after a failure): take it over;
 * - pending, lease held: busy, retry later;
 * - committed with unsent events and no live lease: resend them;
 * - committed, all sent (or another invocation is resending): skip.
 */
export function decide(entry: JournalEntry | undefined, now: Date): ClaimDecision {
  if (!entry) return "claim";
  const leaseLive = entry.leaseExpiresAt !== undefined && entry.leaseExpiresAt.getTime() > now.getTime();
  if (entry.status === "pending") return leaseLive ? "busy" : "take-over";
  const unsent = (entry.outbox ?? []).some((e) => !e.sent);
  if (!unsent) return "skip";
  return leaseLive ? "busy" : "resend";
}

export interface FuncContext<Ctx> {
  cloudevent: CloudEvent;
  ctx: Ctx;
  data: unknown;
  event: unknown;
  mutation: { stage(input: { action: Action; id?: string; props?: Record<string, unknown>; table?: string; type?: string }): { id: string } };
  rapids: { stage(input: RapidInput): CloudEvent };
  countDocuments: Readers["countDocuments"];
  distinct: Readers["distinct"];
  find: Readers["find"];
  findOne: Readers["findOne"];
}

export type IotaFunc<Ctx, R> = (context: FuncContext<Ctx>) => R | Promise<R>;

export class Iota {
  private indexes?: Promise<void>;
  private readonly leaseMs: number;
  private readonly now: () => Date;

  constructor(private readonly options: IotaOptions) {
    this.leaseMs = options.leaseMs ?? 5 * 60_000;
    this.now = options.now ?? (() => new Date());
  }

  /** Applies `event` once: `func`'s value, or SKIPPED when it was already applied. */
  async withIota<Ctx, R>(event: unknown, ctx: Ctx, { func }: { func: IotaFunc<Ctx, R> }): Promise<R | typeof SKIPPED> {
    const cloudevent = cloudEventOf(event);
    const data = dataOf(cloudevent);
    const key: JournalKey = { cloudeventId: cloudevent.id, source: cloudevent.source, type: cloudevent.type, serviceId: this.options.serviceId };
    const { store } = this.options;
    // Once per container, not once per call: a failed attempt is retried by the next call.
    this.indexes ??= store.ensureIndexes().catch((err) => {
      this.indexes = undefined;
      throw err;
    });
    await this.indexes;

    const owner = randomUUID();
    const decision = await this.claim(key, owner);
    if (decision === "busy") throw new EventInProgressError(key);
    if (decision === "skip") return SKIPPED;
    if (decision === "resend") {
      await this.emit(key, owner, (await store.get(key))?.outbox ?? []);
      return SKIPPED;
    }

    let result: R;
    let mutations: Mutation[];
    let outbox: OutboxEvent[];
    try {
      const staged = { mutations: [] as Mutation[], events: [] as CloudEvent[] };
      result = await func({
        cloudevent,
        ctx,
        data,
        event,
        mutation: { stage: (input) => stageMutation(staged.mutations, input) },
        rapids: {
          stage: (input) => {
            const rapid = buildRapid(input, this.options.serviceId, cloudevent, this.now);
            staged.events.push(rapid);
            return rapid;
          },
        },
        countDocuments: store.readers.countDocuments,
        distinct: store.readers.distinct,
        find: store.readers.find,
        findOne: store.readers.findOne,
      });
      mutations = staged.mutations;
      // Checked before anything commits: an event EventBridge would refuse fails the whole call.
      outbox = staged.events.map((e) => ({ eventId: e.id, entry: toEntry(e, this.options.eventBusName), sent: false }));
      await store.commit(key, owner, mutations, outbox);
    } catch (err) {
      await store.release(key, owner).catch(() => undefined);
      throw err;
    }
    await this.emit(key, owner, outbox);
    return result;
  }

  private async claim(key: JournalKey, owner: string): Promise<ClaimDecision> {
    const { store } = this.options;
    const now = this.now();
    const until = new Date(now.getTime() + this.leaseMs);
    if (await store.insertPending(key, owner, until)) return "claim";
    const entry = await store.get(key);
    const decision = decide(entry, now);
    if (decision === "take-over" || decision === "resend") {
      // Someone else may have taken it between the read and this conditional write.
      const taken = await store.takeOver(key, entry!.status, owner, now, until);
      return taken ? decision : "busy";
    }
    return decision;
  }

  /** Puts the unsent events, 10 per request, retrying failed entries; throws if any stay unsent. */
  private async emit(key: JournalKey, owner: string, outbox: OutboxEvent[]): Promise<void> {
    let pending = outbox.filter((e) => !e.sent);
    const errors = new Map<string, string>();
    const rounds = this.options.emitRetries ?? 3;
    for (let round = 0; pending.length > 0 && round <= rounds; round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, this.options.emitBackoffMs?.(round) ?? 100 * 2 ** round * (0.5 + Math.random())));
      const failed: OutboxEvent[] = [];
      for (let i = 0; i < pending.length; i += PUT_EVENTS_BATCH) {
        const batch = pending.slice(i, i + PUT_EVENTS_BATCH);
        try {
          const result = await this.options.putEvents(batch.map((e) => e.entry));
          const sent: string[] = [];
          batch.forEach((event, j) => {
            const answer = result.Entries?.[j];
            if (answer?.ErrorCode || !answer?.EventId) {
              failed.push(event);
              errors.set(event.eventId, answer?.ErrorCode ? `${answer.ErrorCode}: ${answer.ErrorMessage ?? ""}` : "no result for the entry");
            } else {
              sent.push(event.eventId);
            }
          });
          if (sent.length > 0) await this.options.store.markSent(key, sent);
        } catch (err) {
          failed.push(...batch);
          for (const event of batch) errors.set(event.eventId, (err as Error).message);
        }
      }
      pending = failed;
    }
    if (pending.length > 0) {
      // Free the entry at once, so that the event's retry can resend without waiting for the lease.
      await this.options.store.release(key, owner).catch(() => undefined);
      throw new UnsentEventsError(pending.map((e) => ({ eventId: e.eventId, error: errors.get(e.eventId) ?? "unknown" })), key);
    }
  }
}

function stageMutation(
  staged: Mutation[],
  input: { action: Action; id?: string; props?: Record<string, unknown>; table?: string; type?: string },
): { id: string } {
  if (!ACTIONS.includes(input?.action)) throw new IotaInputError(`mutation.stage: action must be one of ${ACTIONS.join(", ")} (got ${JSON.stringify(input?.action)})`);
  const table = input.table ?? input.type;
  if (typeof table !== "string" || table === "") throw new IotaInputError("mutation.stage: table (or its alias type) must be a non-empty string");
  if (input.props !== undefined && (typeof input.props !== "object" || input.props === null || Array.isArray(input.props))) {
    throw new IotaInputError("mutation.stage: props must be an object");
  }
  let id = input.id;
  if (id === undefined && input.action === CREATE) id = randomUUID();
  if (typeof id !== "string" || id === "") throw new IotaInputError(`mutation.stage: ${input.action} needs an id`);
  staged.push({ action: input.action, table, id, props: input.props });
  return { id };
}
