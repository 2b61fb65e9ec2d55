/** iota's configuration from the environment, and the engine built from it. */
import { MongoClient } from "mongodb";
import { EventBridgeSender } from "../lib/eventbridge";
import { IOTA_ENV, secretParamEnv } from "../lib/env-names";
import { type ConnectedIota, mongoClientOptions } from "./connection";
import { Iota, MIN_RETENTION_DAYS } from "./engine";
import { MongoStore } from "./mongo-store";

export interface IotaEnvConfig {
  /** Where the MongoDB URI comes from, for messages: the variable, or the SSM parameter. */
  mongoUriFrom: string;
  mongoDb: string;
  serviceId: string;
  journalName: string;
  eventBusName: string;
  /** How long committed entries are kept, in ms. */
  retentionMs: number;
  aws: { region?: string; endpoint?: string; credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } };
}

/** `MILL_IOTA_AWS_<NAME>`, falling back to `AWS_<NAME>`. */
function awsSetting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  return env[`MILL_IOTA_AWS_${name}`] || env[`AWS_${name}`] || undefined;
}

/** Reads and checks the environment; throws one error naming every missing variable. */
export function iotaConfigFromEnv(env: NodeJS.ProcessEnv = process.env): IotaEnvConfig {
  const missing: string[] = [];
  if (!env[IOTA_ENV.mongoUri] && !env[secretParamEnv(IOTA_ENV.mongoUri)]) {
    missing.push(`${IOTA_ENV.mongoUri} (or ${secretParamEnv(IOTA_ENV.mongoUri)})`);
  }
  for (const name of [IOTA_ENV.mongoDb, IOTA_ENV.serviceId]) if (!env[name]) missing.push(name);
  if (missing.length > 0) throw new Error(`iota: missing environment variable(s): ${missing.join(", ")}`);
  const retentionDays = env[IOTA_ENV.journalRetentionDays] || String(MIN_RETENTION_DAYS);
  if (!/^\d+$/.test(retentionDays) || Number(retentionDays) < MIN_RETENTION_DAYS) {
    throw new Error(
      `iota: ${IOTA_ENV.journalRetentionDays} must be a whole number of days, at least ${MIN_RETENTION_DAYS}: an event comes back for up to 14 days from a dead-letter queue, after a day of retries (got ${JSON.stringify(retentionDays)})`,
    );
  }
  const accessKeyId = awsSetting(env, "ACCESS_KEY_ID");
  const secretAccessKey = awsSetting(env, "SECRET_ACCESS_KEY");
  const parameter = env[secretParamEnv(IOTA_ENV.mongoUri)];
  return {
    mongoUriFrom: parameter ? `the SSM parameter ${parameter} (${secretParamEnv(IOTA_ENV.mongoUri)})` : IOTA_ENV.mongoUri,
    mongoDb: env[IOTA_ENV.mongoDb]!,
    serviceId: env[IOTA_ENV.serviceId]!,
    journalName: env[IOTA_ENV.journalName] || "iotaJournalEntries",
    eventBusName: env[IOTA_ENV.eventBusName] || "default",
    retentionMs: Number(retentionDays) * 24 * 3600 * 1000,
    aws: {
      region: awsSetting(env, "REGION"),
      endpoint: env.MILL_IOTA_AWS_ENDPOINT || undefined,
      // Explicit keys only when given; otherwise the SDK's own chain (the function's role).
      credentials:
        accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken: awsSetting(env, "SESSION_TOKEN") } : undefined,
    },
  };
}

/** The engine for a configuration, over a MongoDB client connected to `mongoUri`. */
export async function connectIota(config: IotaEnvConfig, mongoUri: string): Promise<ConnectedIota> {
  const client = await MongoClient.connect(mongoUri, mongoClientOptions(mongoUri));
  const events = new EventBridgeSender(config.aws);
  const engine = new Iota({
    serviceId: config.serviceId,
    eventBusName: config.eventBusName,
    store: new MongoStore(client, client.db(config.mongoDb), config.journalName),
    retentionMs: config.retentionMs,
    putEvents: (entries) => events.putEvents(entries),
  });
  return { engine, close: () => client.close() };
}
