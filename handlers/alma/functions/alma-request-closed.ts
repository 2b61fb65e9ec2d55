/** alma-request-closed: keeps the Alma cache current from the SNS topics of its events (see handlers/alma/cache-functions.ts). */
import { clientsFromEnv } from "../cache";
import { requestClosed } from "../cache-functions";
import { lambdaHandler } from "../../lib/logger";

/** Clients are made once per container. */
export const handler = lambdaHandler(requestClosed(clientsFromEnv()));
