/** Environment reading for handlers, kept apart from secrets.ts so that it pulls in no AWS client. */

/** Reads a required environment variable, failing with its name. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}
