/**
 * The MongoDB server of the tests that need one: a replica set (iota's transactions need
 * one) at MONGODB_URI. Without it those suites are skipped, and their title says why.
 */

/** The URI the GitHub workflow gives the tests, for its `mongo` container (.github/workflows/pull-request.yml). */
export const WORKFLOW_MONGODB_URI = "mongodb://127.0.0.1:27017/?replicaSet=rs0&directConnection=true";

export const MONGODB_URI: string | undefined = process.env.MONGODB_URI || undefined;

export const MONGODB_SKIP_REASON = `skipped: set MONGODB_URI to a MongoDB replica set, e.g. ${WORKFLOW_MONGODB_URI} as in the GitHub workflow; README "Tests" starts one`;

/** A suite's title, with why its tests are skipped when MONGODB_URI is not set. */
export function mongoSuite(title: string): string {
  return MONGODB_URI ? title : `${title} [${MONGODB_SKIP_REASON}]`;
}

/** For a suite's `before`: the URI, or the suite skipped when there is none. */
export function requireMongo(ctx: Mocha.Context): string {
  if (!MONGODB_URI) ctx.skip();
  return MONGODB_URI!;
}
