/**
 * iota: idempotent CloudEvents functions, API-compatible with @1mill/with-iota.
 *
 *   import { MutationAction, withIota } from "../index";
 *   export const handler = (event, ctx) => withIota(event, ctx, { func: async ({ data, mutation, rapids }) => { ... } });
 *
 * with-iota v1's exports (`withIota`, `MutationAction`, `MutationVersion`) and its older
 * README's (`CREATE`, `DELETE`, `INCREMENT`, `SET`) are all here.
 *
 * Importing this module reads the environment (with-iota's names and defaults); a missing
 * required variable fails the cold start with its name.
 */
import { IOTA_ENV } from "../lib/env-names";
import { maskedError } from "../lib/mask";
import { SecretReader } from "../lib/secrets";
import { connectIota, iotaConfigFromEnv } from "./config";
import { explainMongoError, IotaConnection } from "./connection";
import type { IotaFunc, SKIPPED } from "./engine";

export {
  CREATE,
  DELETE,
  INCREMENT,
  MutationAction,
  MutationVersion,
  SET,
  SKIPPED,
  Iota,
  EventInProgressError,
  UnsentEventsError,
} from "./engine";
export type { FuncContext, IotaFunc, Mutation, MutationInput } from "./engine";
export { IotaInputError, CLOUDEVENT_DETAIL_TYPE } from "./cloudevents";
export { connectIota, iotaConfigFromEnv, type IotaEnvConfig } from "./config";
export { IotaMongoError } from "./connection";

// Read at import, so that a missing variable fails the cold start.
const config = iotaConfigFromEnv();
/** What to do about a missing server: locally, start one; deployed, the parameter holds the wrong URI. */
const MONGO_HINT =
  config.mongoUriFrom === IOTA_ENV.mongoUri
    ? `Set ${IOTA_ENV.mongoUri} to one, e.g. mongodb://127.0.0.1:27017/?replicaSet=rs0&directConnection=true for the one README.md ("Tests") starts with Docker.`
    : "";
const secrets = new SecretReader();
const connection = new IotaConnection({
  uri: () => secrets.get(IOTA_ENV.mongoUri),
  refreshUri: () => secrets.refresh(IOTA_ENV.mongoUri),
  connect: (uri) => connectIota(config, uri),
});

/**
 * Applies the event once; returns `func`'s value, or 'SKIPPED' if the event was already
 * applied. When MongoDB refuses the credentials of a URI since rotated, the call is made once
 * more with the new one. (An attempt refused before its claim left nothing behind; one
 * refused after it holds the event until its lease ends, and the event's retry takes over.)
 * A failure is thrown with its e-mail addresses masked: Lambda logs it, and keeps it in the
 * invocation record (the event itself is kept whole, for the retry). One that means there is
 * no MongoDB server iota can use says so, naming the variable that gave its URI.
 */
export async function withIota<Ctx, R>(event: unknown, ctx: Ctx, options: { func: IotaFunc<Ctx, R> }): Promise<R | typeof SKIPPED> {
  try {
    return await connection.run((engine) => engine.withIota(event, ctx, options));
  } catch (err) {
    throw maskedError(explainMongoError(err, config.mongoUriFrom, MONGO_HINT));
  }
}
