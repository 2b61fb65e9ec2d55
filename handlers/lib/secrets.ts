/**
 * Secrets reach a deployed function as the name of an SSM SecureString parameter
 * (`<NAME>_PARAM`); local runs may pass the value itself (`<NAME>`).
 *
 * A value read from SSM is used for `maxAge` (TRIBUTARY_SECRETS_MAX_AGE_SECONDS, default 5
 * minutes) and then read again, so that a rotation reaches warm containers without a
 * redeploy. A caller that saw the secret fail (a signature that does not match, a 401, a
 * database that refuses the password) calls `refresh`, which reads it at once, but at most
 * once per MIN_REFRESH_INTERVAL_MS per secret, so that failures an outsider can provoke (bad
 * signatures) cannot turn every request into an SSM call. Concurrent callers share one read.
 *
 * Powertools Parameters (`getParameter` with `maxAge` and `forceFetch`) would give `get` and
 * `refresh`, but not a parameter's version and modification date, which the webhook's
 * rotation window needs; `ssmFetcher` is the one function that talks to SSM.
 */
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { wholeNumberEnv } from "./env";
import { COMMON_ENV, DEFAULT_SECRETS_MAX_AGE_SECONDS, secretParamEnv } from "./env-names";
/** The shortest time between two reads that `refresh` forces, per secret. */
export const MIN_REFRESH_INTERVAL_MS = 10_000;

/** One version of a secret. */
export interface SecretVersion {
  value: string;
  /** SSM's version number; undefined for a secret from the environment. */
  version?: number;
  /** When this version was written (SSM's LastModifiedDate). */
  lastModified?: Date;
}

/** Reads one version of a parameter: `name` (the current one) or `name:<version>`. */
export type ParameterFetcher = (selector: string) => Promise<SecretVersion>;

/** GetParameter, decrypted, with the SDK's default client (AWS_ENDPOINT_URL_SSM points it at a stand-in). */
export function ssmFetcher(client?: SSMClient): ParameterFetcher {
  let ssm = client;
  return async (selector) => {
    ssm ??= new SSMClient({});
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: selector, WithDecryption: true }));
    if (Parameter?.Value === undefined) throw new Error(`SSM parameter ${selector} has no value`);
    return { value: Parameter.Value, version: Parameter.Version, lastModified: Parameter.LastModifiedDate };
  };
}

export interface SecretReaderOptions {
  /** Where `<NAME>_PARAM` and `<NAME>` are looked up. */
  env?: NodeJS.ProcessEnv;
  /** How long a value read is used; default TRIBUTARY_SECRETS_MAX_AGE_SECONDS, else 5 minutes. */
  maxAgeMs?: number;
  fetch?: ParameterFetcher;
  /** The clock, for tests. */
  now?: () => number;
}

/** What is known of one secret from SSM. */
interface Entry {
  current?: SecretVersion;
  /** Until when `current` is used without reading it again. */
  freshUntil: number;
  pending?: Promise<SecretVersion>;
  lastForcedAt?: number;
}

type Source = { parameter: string } | { value: string };

export class SecretReader {
  private readonly entries = new Map<string, Entry>();
  private readonly env: NodeJS.ProcessEnv;
  private readonly maxAgeMs: number;
  private readonly fetch: ParameterFetcher;

  constructor(private readonly options: SecretReaderOptions = {}) {
    this.env = options.env ?? process.env;
    this.maxAgeMs = options.maxAgeMs ?? wholeNumberEnv(COMMON_ENV.secretsMaxAgeSeconds, DEFAULT_SECRETS_MAX_AGE_SECONDS, this.env) * 1000;
    this.fetch = options.fetch ?? ssmFetcher();
  }

  /** The secret's value, from the cache while it is younger than maxAge. */
  async get(name: string): Promise<string> {
    return (await this.read(name)).value;
  }

  /**
   * The secret with its version and modification date, from the cache while it is younger
   * than maxAge; or, given `version`, that version of a secret from SSM (a version never
   * changes: the caller keeps it).
   */
  async read(name: string, version?: number): Promise<SecretVersion> {
    const source = this.source(name);
    if ("value" in source) return source;
    if (version) return this.fetch(`${source.parameter}:${version}`);
    const entry = this.entry(source.parameter);
    return entry.current && this.clock() < entry.freshUntil ? entry.current : this.fetchCurrent(source.parameter, entry);
  }

  /**
   * After the secret failed: the value read again now, or, when a forced read of this
   * secret was made less than the refresh interval ago, the one it has.
   */
  async refresh(name: string): Promise<string> {
    const source = this.source(name);
    if ("value" in source) return source.value;
    const entry = this.entry(source.parameter);
    const now = this.clock();
    if (entry.lastForcedAt !== undefined && now - entry.lastForcedAt < MIN_REFRESH_INTERVAL_MS) return (await (entry.pending ?? this.read(name))).value;
    entry.lastForcedAt = now;
    return (await this.fetchCurrent(source.parameter, entry)).value;
  }

  private clock(): number {
    return (this.options.now ?? Date.now)();
  }

  private source(name: string): Source {
    const parameter = this.env[secretParamEnv(name)];
    if (parameter) return { parameter };
    const value = this.env[name];
    if (value) return { value };
    throw new Error(`secret ${name} is not configured: set ${secretParamEnv(name)} (an SSM parameter name) or ${name}`);
  }

  private entry(parameter: string): Entry {
    let entry = this.entries.get(parameter);
    if (!entry) this.entries.set(parameter, (entry = { freshUntil: 0 }));
    return entry;
  }

  /**
   * One read at a time per parameter, shared by every caller. When it fails and a value was
   * read before, that value is kept (SSM being briefly out of reach must not stop a function
   * that had the secret minutes ago) and the read is tried again after the refresh interval.
   */
  private fetchCurrent(parameter: string, entry: Entry): Promise<SecretVersion> {
    entry.pending ??= this.fetch(parameter)
      .then(
        (read) => {
          entry.current = read;
          entry.freshUntil = this.clock() + this.maxAgeMs;
          return read;
        },
        (err: Error) => {
          if (!entry.current) throw err;
          console.warn(JSON.stringify({ level: "WARN", message: "secret not read again: the value read before is kept", parameter, error: err.message }));
          entry.freshUntil = this.clock() + Math.min(this.maxAgeMs, MIN_REFRESH_INTERVAL_MS);
          return entry.current;
        },
      )
      .finally(() => (entry.pending = undefined));
    return entry.pending;
  }
}
