/** alma-request-updated: keeps the Alma cache current from the SNS topics of its events (see handlers/lib/alma). */
import { clientsFromEnv } from "../lib/alma/cache";
import { requestUpdated } from "../lib/alma/handlers";

/** Clients are made once per container. */
export const handler = requestUpdated(clientsFromEnv());
