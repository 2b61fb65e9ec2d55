/** alma-loan-returned: keeps the Alma cache current from the SNS topics of its events (see handlers/lib/alma). */
import { clientsFromEnv } from "../lib/alma/cache";
import { loanReturned } from "../lib/alma/handlers";

/** Clients are made once per container. */
export const handler = loanReturned(clientsFromEnv());
