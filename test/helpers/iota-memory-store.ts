/**
 * An in-memory IotaStore with the same contract as MongoStore (unique journal key,
 * conditional take-over, all-or-nothing commit), for the engine's unit tests. The real
 * store is tested against MongoDB when MONGODB_URI is set.
 */
import type { IotaStore, JournalEntry, JournalKey, Mutation, OutboxEvent } from "../../handlers/lib/iota/engine";

const keyOf = (k: JournalKey) => JSON.stringify([k.cloudeventId, k.source, k.type, k.serviceId]);
const copy = <T>(value: T): T => structuredClone(value);

export class MemoryStore implements IotaStore {
  journal = new Map<string, JournalEntry>();
  collections = new Map<string, Map<string, Record<string, any>>>();
  indexCalls = 0;
  commits = 0;
  /** Fail the next commit after applying this many mutations (then roll back). */
  failCommitAfter?: number;

  readers = {
    countDocuments: async (name: string) => this.collection(name).size,
    distinct: async (name: string, field: string) => [...new Set([...this.collection(name).values()].map((d) => d[field]))],
    find: async (name: string) => [...this.collection(name).values()].map(copy),
    findOne: async (name: string, filter: { id?: string } = {}) => copy(this.collection(name).get(String(filter.id)) ?? null),
  };

  collection(name: string): Map<string, Record<string, any>> {
    if (!this.collections.has(name)) this.collections.set(name, new Map());
    return this.collections.get(name)!;
  }

  async ensureIndexes() {
    this.indexCalls += 1;
  }

  async get(key: JournalKey) {
    const entry = this.journal.get(keyOf(key));
    return entry && copy(entry);
  }

  async insertPending(key: JournalKey, owner: string, leaseExpiresAt: Date) {
    if (this.journal.has(keyOf(key))) return false;
    this.journal.set(keyOf(key), { status: "pending", leaseOwner: owner, leaseExpiresAt });
    return true;
  }

  async takeOver(key: JournalKey, status: JournalEntry["status"], owner: string, now: Date, leaseExpiresAt: Date) {
    const entry = this.journal.get(keyOf(key));
    if (!entry || entry.status !== status || (entry.leaseExpiresAt && entry.leaseExpiresAt > now)) return false;
    Object.assign(entry, { leaseOwner: owner, leaseExpiresAt });
    return true;
  }

  async release(key: JournalKey, owner: string) {
    const entry = this.journal.get(keyOf(key));
    if (entry?.leaseOwner === owner) entry.leaseExpiresAt = new Date(0);
  }

  async commit(key: JournalKey, owner: string, mutations: Mutation[], outbox: OutboxEvent[]) {
    const entry = this.journal.get(keyOf(key));
    if (!entry || entry.status !== "pending" || entry.leaseOwner !== owner) throw new Error("the lease was lost before the commit");
    // Work on copies and swap them in at the end: all or nothing, like a transaction.
    const staged = new Map([...this.collections].map(([name, docs]) => [name, new Map([...docs].map(([id, d]) => [id, copy(d)]))]));
    const docs = (name: string) => staged.get(name) ?? staged.set(name, new Map()).get(name)!;
    mutations.forEach((m, i) => {
      if (this.failCommitAfter !== undefined && i === this.failCommitAfter) throw new Error("injected commit failure");
      const c = docs(m.table);
      if (m.action === "CREATE") c.set(m.id, { ...m.props, id: m.id });
      if (m.action === "DELETE") c.delete(m.id);
      if (m.action === "SET" && c.has(m.id)) Object.assign(c.get(m.id)!, m.props);
      if (m.action === "INCREMENT" && c.has(m.id)) {
        for (const [field, by] of Object.entries(m.props ?? {})) c.get(m.id)![field] = (c.get(m.id)![field] ?? 0) + (by as number);
      }
    });
    this.collections = staged;
    Object.assign(entry, { status: "committed", outbox: copy(outbox) });
    this.commits += 1;
  }

  async markSent(key: JournalKey, eventIds: string[]) {
    for (const event of this.journal.get(keyOf(key))?.outbox ?? []) if (eventIds.includes(event.eventId)) event.sent = true;
  }
}
