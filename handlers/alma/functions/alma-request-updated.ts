/** alma-request-updated: keeps the Alma cache current from its SQS queue, which the SNS topics of its events feed (see handlers/alma/cache-functions.ts). */
import { lambdaHandler } from "../../lib/logger";
import { clientsFromEnv } from "../cache";
import { requestUpdated } from "../cache-functions";

/** Clients are made once per container; a failed record's log line carries the invocation. */
export const handler = lambdaHandler(requestUpdated(clientsFromEnv()));
