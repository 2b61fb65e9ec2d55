/** The iota journal and records in MongoDB (a replica set: commits are transactions). */
import { type Collection, type Db, MongoClient, MongoServerError } from "mongodb";
import type { IotaStore, JournalEntry, JournalKey, Mutation, OutboxEvent, Readers } from "./engine";

interface JournalDocument extends JournalKey, JournalEntry {
  createdAt: Date;
  committedAt?: Date;
}

const DUPLICATE_KEY = 11000;

function keyFilter(key: JournalKey) {
  return { cloudeventId: key.cloudeventId, source: key.source, type: key.type, serviceId: key.serviceId };
}

export class MongoStore implements IotaStore {
  private readonly journal: Collection<JournalDocument>;
  readonly readers: Readers;

  constructor(
    private readonly client: MongoClient,
    private readonly db: Db,
    journalName: string,
  ) {
    this.journal = db.collection<JournalDocument>(journalName);
    // The read helpers take (collectionName, ...the driver method's own arguments).
    const call = (name: string, method: "countDocuments" | "distinct" | "find" | "findOne", args: unknown[]) =>
      (db.collection(name) as unknown as Record<string, (...a: unknown[]) => any>)[method](...args);
    this.readers = {
      countDocuments: (name, ...args) => call(name, "countDocuments", args),
      distinct: (name, ...args) => call(name, "distinct", args),
      find: (name, ...args) => call(name, "find", args).toArray(),
      findOne: (name, ...args) => call(name, "findOne", args),
    };
  }

  async ensureIndexes(): Promise<void> {
    await this.journal.createIndex({ cloudeventId: 1, source: 1, type: 1, serviceId: 1 }, { unique: true, name: "journal_key" });
  }

  async get(key: JournalKey): Promise<JournalEntry | undefined> {
    return (await this.journal.findOne(keyFilter(key))) ?? undefined;
  }

  async insertPending(key: JournalKey, owner: string, leaseExpiresAt: Date): Promise<boolean> {
    try {
      await this.journal.insertOne({ ...keyFilter(key), status: "pending", leaseOwner: owner, leaseExpiresAt, createdAt: new Date() });
      return true;
    } catch (err) {
      if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return false;
      throw err;
    }
  }

  async takeOver(key: JournalKey, status: JournalEntry["status"], owner: string, now: Date, leaseExpiresAt: Date): Promise<boolean> {
    const result = await this.journal.updateOne(
      { ...keyFilter(key), status, $or: [{ leaseExpiresAt: { $lte: now } }, { leaseExpiresAt: { $exists: false } }] },
      { $set: { leaseOwner: owner, leaseExpiresAt } },
    );
    return result.modifiedCount === 1;
  }

  async release(key: JournalKey, owner: string): Promise<void> {
    await this.journal.updateOne({ ...keyFilter(key), leaseOwner: owner }, { $set: { leaseExpiresAt: new Date(0) } });
  }

  async commit(key: JournalKey, owner: string, mutations: Mutation[], outbox: OutboxEvent[]): Promise<void> {
    const session = this.client.startSession();
    try {
      await session.withTransaction(async () => {
        const claimed = await this.journal.updateOne(
          { ...keyFilter(key), status: "pending", leaseOwner: owner },
          { $set: { status: "committed", committedAt: new Date(), outbox } },
          { session },
        );
        if (claimed.modifiedCount !== 1) {
          throw new Error(`cloudevent ${key.cloudeventId}: the lease was lost before the commit; nothing was applied`);
        }
        for (const m of mutations) {
          const records = this.db.collection(m.table);
          switch (m.action) {
            case "CREATE":
              await records.insertOne({ ...m.props, id: m.id }, { session });
              break;
            case "DELETE":
              await records.deleteOne({ id: m.id }, { session });
              break;
            case "INCREMENT":
              await records.updateOne({ id: m.id }, { $inc: (m.props ?? {}) as Record<string, number> }, { session });
              break;
            case "SET":
              await records.updateOne({ id: m.id }, { $set: m.props ?? {} }, { session });
              break;
          }
        }
      });
    } finally {
      await session.endSession();
    }
  }

  async markSent(key: JournalKey, eventIds: string[]): Promise<void> {
    await this.journal.updateOne(
      keyFilter(key),
      { $set: { "outbox.$[sent].sent": true } },
      { arrayFilters: [{ "sent.eventId": { $in: eventIds } }] },
    );
  }
}
