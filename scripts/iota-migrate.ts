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
import { explainMongoError, LOCAL_SERVER_SELECTION_TIMEOUT_MS, mongoClientOptions } from "../handlers/iota/connection";
import { MIN_RETENTION_DAYS } from "../handlers/iota/engine";
import { migrateJournal } from "../handlers/iota/mongo-store";
import { runMain } from "./lib/main";

const USAGE = "usage: npm run iota:migrate -- --uri <mongodb uri> --db <database> [--journal iotaJournalEntries] [--retention-days 15]";
/** A remote server (Atlas) gets this long to answer; one on this machine LOCAL_SERVER_SELECTION_TIMEOUT_MS. */
const REMOTE_SERVER_SELECTION_TIMEOUT_MS = 10_000;

const HELP = `${USAGE}

Brings an iota journal up to date before a deployment: creates with-iota's unique index and
the TTL index, and gives committed entries the expiry they would have had. Safe to run again.

  --uri             the MongoDB replica set of the iota services (the value of MILL_IOTA_MONGO_URI);
                    quote it in the shell: it holds & and ?
  --db              the database of the journal and the records (MILL_IOTA_MONGO_DB)
  --journal         the journal collection (default iotaJournalEntries, with-iota's)
  --retention-days  how long committed entries are kept, at least ${MIN_RETENTION_DAYS}, as iota.journalRetentionDays (default ${MIN_RETENTION_DAYS})

A server that does not answer fails after ${REMOTE_SERVER_SELECTION_TIMEOUT_MS / 1000} s (${LOCAL_SERVER_SELECTION_TIMEOUT_MS / 1000} s on this machine).`;

async function main(argv: string[]): Promise<number> {
  // biome-ignore lint/suspicious/noImplicitAnyLet: parseArgs infers the type from its options below
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        uri: { type: "string" },
        db: { type: "string" },
        journal: { type: "string", default: "iotaJournalEntries" },
        "retention-days": { type: "string", default: String(MIN_RETENTION_DAYS) },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const days = Number(values["retention-days"]);
  if (!values.uri || !values.db || !Number.isInteger(days) || days < MIN_RETENTION_DAYS) {
    process.stderr.write(`${USAGE}\n--retention-days is at least ${MIN_RETENTION_DAYS}, as iota.journalRetentionDays\n`);
    return 2;
  }
  let client: MongoClient;
  try {
    client = await MongoClient.connect(values.uri, mongoClientOptions(values.uri, REMOTE_SERVER_SELECTION_TIMEOUT_MS));
  } catch (err) {
    throw explainMongoError(err, "--uri", "Give --uri the URI of the iota services' replica set (their MILL_IOTA_MONGO_URI).");
  }
  try {
    const result = await migrateJournal(client.db(values.db), values.journal, days * 24 * 3600 * 1000);
    process.stdout.write(
      `${values.db}.${values.journal}: indexes ${result.indexes.join(", ")}; ${result.expiring} committed entries now expire after ${days} days\n`,
    );
    return 0;
  } finally {
    await client.close();
  }
}

runMain(() => main(process.argv.slice(2)));
