/**
 * Brings an iota journal up to date: the journal @1mill/with-iota v1 left, or one of an
 * earlier tributary. Creates with-iota's unique index and our TTL index, and gives committed
 * entries the expiry they would have had, so that MongoDB removes them after the retention.
 * Safe to run again; services also create the indexes lazily, but building them on a large
 * collection is better done here, before the first deployment.
 *
 *   npm run iota:migrate -- --uri <mongodb uri> --db <database> [--journal iotaJournalEntries] [--retention-days 15]
 */
import { parseArgs } from "node:util";
import { MongoClient } from "mongodb";
import { MIN_RETENTION_DAYS } from "../handlers/iota/engine";
import { migrateJournal } from "../handlers/iota/mongo-store";
import { runMain } from "./lib/main";

const USAGE = "usage: npm run iota:migrate -- --uri <mongodb uri> --db <database> [--journal iotaJournalEntries] [--retention-days 15]";

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        uri: { type: "string" },
        db: { type: "string" },
        journal: { type: "string", default: "iotaJournalEntries" },
        "retention-days": { type: "string", default: String(MIN_RETENTION_DAYS) },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const days = Number(values["retention-days"]);
  if (!values.uri || !values.db || !Number.isInteger(days) || days < MIN_RETENTION_DAYS) {
    process.stderr.write(`${USAGE}\n--retention-days is at least ${MIN_RETENTION_DAYS}, as iota.journalRetentionDays\n`);
    return 2;
  }
  const client = await MongoClient.connect(values.uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    const result = await migrateJournal(client.db(values.db), values.journal, days * 24 * 3600 * 1000);
    process.stdout.write(`${values.db}.${values.journal}: indexes ${result.indexes.join(", ")}; ${result.expiring} committed entries now expire after ${days} days\n`);
    return 0;
  } finally {
    await client.close();
  }
}

runMain(() => main(process.argv.slice(2)));
