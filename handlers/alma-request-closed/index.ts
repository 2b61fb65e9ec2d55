/** alma-request-closed: keeps the Alma cache current from the SNS topics of its events (see handlers/lib/alma). */
import { clientsFromEnv } from "../lib/alma/cache";
import { requestClosed } from "../lib/alma/handlers";

/** Clients are made once per container. */
export const handler = requestClosed(clientsFromEnv());
