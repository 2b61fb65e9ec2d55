/**
 * Stands in for `@aws-sdk/credential-provider-node` in the bundles. Lambda hands a function
 * its credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN), so the rest of the default chain (profiles, SSO, credential processes,
 * web identity, container and instance metadata) never runs there; it is about 130 KB of
 * every bundle that each cold start would load.
 *
 * `npm run invoke` resolves the developer's full default chain itself and passes the result
 * to the handler in the same variables (see scripts/invoke.ts).
 */
import { fromEnv } from "@aws-sdk/credential-provider-env";

type Init = Parameters<typeof fromEnv>[0];

export const defaultProvider = (init?: Init) => fromEnv(init);
