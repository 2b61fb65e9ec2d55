/**
 * The apps `npm run local` has stand-ins for, kept apart from scripts/local.ts (which loads
 * dynalite, s3rver and MySQL) so that other scripts can name them cheaply.
 */
export const LOCAL_APP_NAMES = ["alma", "lessons", "hdoc", "skills"] as const;
export type LocalAppName = (typeof LOCAL_APP_NAMES)[number];

/** Where `npm run local -- <app>` writes the environment that points an app's functions at its stand-ins. */
export const localEnvFile = (app: string) => `.build/local/${app}.env`;
