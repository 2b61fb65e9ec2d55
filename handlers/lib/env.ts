/** Environment reading for handlers, kept apart from secrets.ts so that it pulls in no AWS client. */

/** Reads a required environment variable, failing with its name. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** An optional whole-number setting (`0`, `12`), or `fallback` when it is unset; anything else fails, with its name. */
export function wholeNumberEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const value = env[name];
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value)) throw new Error(`environment variable ${name} must be a whole number (got ${JSON.stringify(value)})`);
  return Number(value);
}
