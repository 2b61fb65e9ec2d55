/**
 * The iota journal and records in MongoDB (a replica set: commits are transactions). The
 * journal's documents and its unique index are @1mill/with-iota v1's, so that the entries
 * it wrote are read here and the other way round; `lease`, `outbox` and `expiresAt` are ours.
 */
import { type Collection, type Db, type Document, type MongoClient, MongoServerError } from "mongodb";
import type { CloudEvent } from "./cloudevents";
import type { Cursor, IotaStore, JournalEntry, JournalKey, Lease, Mutation, Readers } from "./engine";

const DUPLICATE_KEY = 11000;

/** with-iota's unique index, with its key order (and so its default name). */
export const JOURNAL_KEY_INDEX = { "cloudevent.id": 1, "cloudevent.source": 1, "cloudevent.type": 1, "service.id": 1 } as const;
/** Ours: MongoDB removes an entry once `expiresAt` has passed. */
export const JOURNAL_TTL_INDEX = { expiresAt: 1 } as const;

function keyFilter(key: JournalKey) {
  return { "cloudevent.id": key.cloudeventId, "cloudevent.source": key.source, "cloudevent.type": key.type, "service.id": key.serviceId };
}

/** Creates the journal's indexes: with-iota's unique key, and our TTL index. Both are idempotent. */
export async function ensureJournalIndexes(journal: Collection<Document>): Promise<void> {
  await journal.createIndex(JOURNAL_KEY_INDEX, { unique: true });
  await journal.createIndex(JOURNAL_TTL_INDEX, { expireAfterSeconds: 0 });
}

export class MongoStore implements IotaStore {
  private readonly journal: Collection<JournalEntry>;
  readonly readers: Readers;

  constructor(
    private readonly client: MongoClient,
    private readonly db: Db,
    journalName: string,
  ) {
    this.journal = db.collection<JournalEntry>(journalName);
    // The read helpers take (collection name, ...the driver method's own arguments); `find` resolves to the driver's cursor.
    this.readers = {
      countDocuments: (name, filter = {}, options) => db.collection(name).countDocuments(filter, options),
      distinct: (name, key, filter = {}) => db.collection(name).distinct(key, filter),
      find: async (name, filter = {}, options) => db.collection(name).find(filter, options) as unknown as Cursor,
      findOne: (name, filter = {}, options) => db.collection(name).findOne(filter, options),
    };
  }

  ensureIndexes(): Promise<void> {
    return ensureJournalIndexes(this.journal as unknown as Collection<Document>);
  }

  async claim(key: JournalKey, entry: JournalEntry): Promise<JournalEntry | undefined> {
    // The key's fields come from the filter; every other field is set only if this call inserts.
    const onInsert: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(entry.cloudevent)) {
      if (!["id", "source", "type"].includes(name)) onInsert[`cloudevent.${name}`] = value;
    }
    Object.assign(onInsert, {
      "service.startedAt": entry.service.startedAt,
      "service.endedAt": null,
      mutations: null,
      rapids: null,
      lease: entry.lease,
      expiresAt: entry.expiresAt,
    });
    try {
      const before = await this.journal.findOneAndUpdate(
        keyFilter(key),
        { $setOnInsert: onInsert },
        { upsert: true, returnDocument: "before" },
      );
      return before ?? undefined;
    } catch (err) {
      // Two upserts racing: the server usually retries the loser itself; when it does not, the winner's entry is there to read.
      if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
      return (await this.journal.findOne(keyFilter(key))) ?? undefined;
    }
  }

  async find(key: JournalKey): Promise<JournalEntry | undefined> {
    return (await this.journal.findOne(keyFilter(key))) ?? undefined;
  }

  async takeOver(key: JournalKey, committed: boolean, lease: Lease, now: Date, foreignCutoff: Date): Promise<boolean> {
    const result = await this.journal.updateOne(
      {
        ...keyFilter(key),
        "service.endedAt": committed ? { $ne: null } : null,
        $or: [
          { "lease.expiresAt": { $lte: now } },
          { lease: { $exists: false }, "service.startedAt": { $lte: foreignCutoff.toISOString() } },
        ],
      },
      { $set: { lease } },
    );
    return result.modifiedCount === 1;
  }

  async release(key: JournalKey, owner: string): Promise<void> {
    await this.journal.updateOne({ ...keyFilter(key), "lease.owner": owner }, { $set: { "lease.expiresAt": new Date(0) } });
  }

  async commit(
    key: JournalKey,
    owner: string,
    done: { endedAt: string; mutations: Mutation[]; rapids: CloudEvent[]; outbox: string[]; expiresAt?: Date },
  ): Promise<void> {
    const session = this.client.startSession();
    try {
      await session.withTransaction(async () => {
        const claimed = await this.journal.updateOne(
          { ...keyFilter(key), "lease.owner": owner, "service.endedAt": null },
          {
            $set: {
              "service.endedAt": done.endedAt,
              mutations: done.mutations,
              rapids: done.rapids,
              outbox: done.outbox,
              ...(done.expiresAt ? { expiresAt: done.expiresAt } : {}),
            },
            // Committed events still to send must outlive the retention period.
            ...(done.expiresAt ? {} : { $unset: { expiresAt: "" } }),
          },
          { session },
        );
        if (claimed.modifiedCount !== 1) {
          throw new Error(`cloudevent ${key.cloudeventId}: the lease was lost before the commit; nothing was applied`);
        }
        for (const m of done.mutations) {
          const records = this.db.collection(m.table);
          switch (m.action) {
            case "create":
              await records.insertOne({ ...m.props, id: m.id }, { session });
              break;
            case "delete":
              await records.deleteOne({ id: m.id }, { session });
              break;
            case "increment":
              await records.updateOne({ id: m.id }, { $inc: m.props as Record<string, number> }, { session });
              break;
            case "set":
              await records.updateOne({ id: m.id }, { $set: m.props }, { session });
              break;
          }
        }
      });
    } finally {
      await session.endSession();
    }
  }

  async markSent(key: JournalKey, eventIds: string[], expiresAt?: Date): Promise<void> {
    await this.journal.updateOne(keyFilter(key), { $pull: { outbox: { $in: eventIds } }, ...(expiresAt ? { $set: { expiresAt } } : {}) });
  }
}

/**
 * Brings an existing journal up to date (`npm run iota:migrate`): creates the indexes, and
 * gives entries that with-iota committed, and ours with nothing left to send, the expiry
 * they would have had, so that the TTL index removes them too. Idempotent.
 */
export async function migrateJournal(db: Db, journalName: string, retentionMs: number): Promise<{ indexes: string[]; expiring: number }> {
  const journal = db.collection(journalName);
  await ensureJournalIndexes(journal);
  const result = await journal.updateMany(
    {
      "service.endedAt": { $type: "string" },
      expiresAt: { $exists: false },
      $or: [{ outbox: { $exists: false } }, { outbox: { $size: 0 } }],
    },
    [{ $set: { expiresAt: { $add: [{ $toDate: "$service.endedAt" }, retentionMs] } } }],
  );
  const indexes = (await journal.indexes()).map((i) => String(i.name));
  return { indexes, expiring: result.modifiedCount };
}
