/** alma-loan-returned: keeps the Alma cache current from the SNS topics of its events (see handlers/alma/cache-functions.ts). */
import { clientsFromEnv } from "../cache";
import { loanReturned } from "../cache-functions";

/** Clients are made once per container. */
export const handler = loanReturned(clientsFromEnv());
