/**
 * An in-memory IotaStore with the same contract as MongoStore (with-iota's journal key and
 * documents, one-round-trip claim, conditional take-over, all-or-nothing commit), so that
 * the engine's logic is tested on every machine. The real store is tested against MongoDB
 * when MONGODB_URI is set.
 */
import type { CloudEvent } from "../../handlers/iota/cloudevents";
import type { Cursor, IotaStore, JournalEntry, JournalKey, Lease, Mutation } from "../../handlers/iota/engine";

const keyOf = (k: JournalKey) => JSON.stringify([k.cloudeventId, k.source, k.type, k.serviceId]);
const copy = <T>(value: T): T => structuredClone(value);
/** A document matches a filter of plain equalities (all the tests use). */
const matches = (doc: Record<string, unknown>, filter: Record<string, unknown> = {}) =>
  Object.entries(filter).every(([k, v]) => doc[k] === v);

function cursor(docs: Record<string, unknown>[]): Cursor {
  return {
    toArray: async () => docs,
    async *[Symbol.asyncIterator]() {
      yield* docs;
    },
  };
}

export class MemoryStore implements IotaStore {
  journal = new Map<string, JournalEntry>();
  collections = new Map<string, Map<string, Record<string, any>>>();
  indexCalls = 0;
  commits = 0;
  /** Round trips to the journal, by operation. */
  calls: string[] = [];
  /** Fail the next commit after applying this many mutations (then roll back). */
  failCommitAfter?: number;

  readers = {
    countDocuments: async (name: string, filter?: Record<string, unknown>) =>
      [...this.collection(name).values()].filter((d) => matches(d, filter)).length,
    distinct: async (name: string, key: string, filter?: Record<string, unknown>) => [
      ...new Set([...this.collection(name).values()].filter((d) => matches(d, filter)).map((d) => d[key])),
    ],
    find: async (name: string, filter?: Record<string, unknown>) =>
      cursor([...this.collection(name).values()].filter((d) => matches(d, filter)).map(copy)),
    findOne: async (name: string, filter?: Record<string, unknown>) =>
      copy([...this.collection(name).values()].find((d) => matches(d, filter)) ?? null),
  };

  collection(name: string): Map<string, Record<string, any>> {
    if (!this.collections.has(name)) this.collections.set(name, new Map());
    return this.collections.get(name)!;
  }

  entry(key: JournalKey): JournalEntry | undefined {
    return this.journal.get(keyOf(key));
  }

  /** Puts an entry as with-iota would have written it. */
  seed(key: JournalKey, entry: JournalEntry): void {
    this.journal.set(keyOf(key), copy(entry));
  }

  /** What MongoDB's TTL monitor does: removes every entry whose `expiresAt` has passed by `now`. */
  expire(now: Date): void {
    for (const [k, entry] of this.journal) if (entry.expiresAt && entry.expiresAt <= now) this.journal.delete(k);
  }

  async ensureIndexes() {
    this.indexCalls += 1;
  }

  async claim(key: JournalKey, entry: JournalEntry) {
    this.calls.push("claim");
    const found = this.journal.get(keyOf(key));
    if (found) return copy(found);
    this.journal.set(keyOf(key), copy(entry));
    return undefined;
  }

  async find(key: JournalKey) {
    this.calls.push("find");
    const found = this.journal.get(keyOf(key));
    return found && copy(found);
  }

  async takeOver(key: JournalKey, committed: boolean, lease: Lease, now: Date, foreignCutoff: Date) {
    this.calls.push("takeOver");
    const entry = this.journal.get(keyOf(key));
    if (!entry || (entry.service.endedAt !== null) !== committed) return false;
    const ended = entry.lease ? entry.lease.expiresAt <= now : entry.service.startedAt <= foreignCutoff.toISOString();
    if (!ended) return false;
    entry.lease = copy(lease);
    return true;
  }

  async release(key: JournalKey, owner: string) {
    this.calls.push("release");
    const entry = this.journal.get(keyOf(key));
    if (entry?.lease?.owner === owner) entry.lease.expiresAt = new Date(0);
  }

  async commit(
    key: JournalKey,
    owner: string,
    done: { endedAt: string; mutations: Mutation[]; rapids: CloudEvent[]; outbox: string[]; expiresAt?: Date },
  ) {
    this.calls.push("commit");
    const entry = this.journal.get(keyOf(key));
    if (!entry || entry.service.endedAt !== null || entry.lease?.owner !== owner)
      throw new Error("the lease was lost before the commit; nothing was applied");
    // Work on copies and swap them in at the end: all or nothing, like a transaction.
    const staged = new Map([...this.collections].map(([name, docs]) => [name, new Map([...docs].map(([id, d]) => [id, copy(d)]))]));
    const docs = (name: string) => staged.get(name) ?? staged.set(name, new Map()).get(name)!;
    done.mutations.forEach((m, i) => {
      if (this.failCommitAfter !== undefined && i === this.failCommitAfter) throw new Error("injected commit failure");
      const c = docs(m.table);
      if (m.action === "create") {
        if (c.has(m.id)) throw new Error(`E11000 duplicate key: ${m.table} ${m.id}`);
        c.set(m.id, { ...m.props, id: m.id });
      }
      if (m.action === "delete") c.delete(m.id);
      if (m.action === "set" && c.has(m.id)) Object.assign(c.get(m.id)!, m.props);
      if (m.action === "increment" && c.has(m.id)) {
        for (const [field, by] of Object.entries(m.props)) c.get(m.id)![field] = (c.get(m.id)![field] ?? 0) + (by as number);
      }
    });
    this.collections = staged;
    entry.service.endedAt = done.endedAt;
    Object.assign(entry, copy({ mutations: done.mutations, rapids: done.rapids, outbox: done.outbox }));
    if (done.expiresAt) entry.expiresAt = done.expiresAt;
    else delete entry.expiresAt;
    this.commits += 1;
  }

  async markSent(key: JournalKey, eventIds: string[], expiresAt?: Date) {
    this.calls.push("markSent");
    const entry = this.journal.get(keyOf(key));
    if (!entry) return;
    entry.outbox = (entry.outbox ?? []).filter((id) => !eventIds.includes(id));
    if (expiresAt) entry.expiresAt = expiresAt;
  }
}
