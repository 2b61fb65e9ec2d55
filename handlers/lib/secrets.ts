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
 * Zip functions read through the AWS Parameters and Secrets Lambda Extension (a layer that
 * NodeFunction adds): an HTTP GET on localhost answered with GetParameter's JSON, so that no
 * SSM client is bundled, loaded or set up on the first request. Its own cache is off
 * (PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED=FALSE): every read here reaches SSM, as
 * `refresh` must. The container-image function reads with the SDK (ssm-fetcher.ts).
 *
 * Powertools Parameters (`getParameter` with `maxAge` and `forceFetch`) would give `get` and
 * `refresh`, but not a parameter's version and modification date, which the webhook's
 * rotation window needs.
 */
import { get } from "node:http";
import { wholeNumberEnv } from "./env";
import { COMMON_ENV, DEFAULT_SECRETS_MAX_AGE_SECONDS, SECRETS_EXTENSION_ENV, secretParamEnv } from "./env-names";
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

/** Reads a parameter, decrypted: its current version, or `version`. */
export type ParameterFetcher = (name: string, version?: number) => Promise<SecretVersion>;

/** Where the extension listens when PARAMETERS_SECRETS_EXTENSION_HTTP_PORT is not set. */
export const DEFAULT_EXTENSION_PORT = 2773;
/**
 * The extension's address: AWS's examples say `localhost`, which in Lambda is IPv4's loopback
 * (functions have no IPv6). Naming it skips a lookup on the first read (about 4 ms of CPU: it
 * starts libuv's thread pool) and an attempt at ::1 where `localhost` resolves to both.
 */
const EXTENSION_HOST = "127.0.0.1";
/** A read the extension has not answered by then fails, rather than the invocation's whole time. */
const EXTENSION_TIMEOUT_MS = 10_000;

/** A read the extension refused or could not make; `status` is its HTTP status, if it answered. */
export class SecretReadError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "SecretReadError";
  }
}

function extensionError(status: number | undefined, body: string): string {
  try {
    const { error } = JSON.parse(body);
    if (typeof error === "string") return error;
  } catch {
    // Not the extension's JSON: its text is shown as it is.
  }
  return `${status} ${body.slice(0, 300)}`;
}

/**
 * GetParameter through the Parameters and Secrets Lambda Extension:
 * `GET http://127.0.0.1:<port>/systemsmanager/parameters/get?name=…&version=…&withDecryption=true`
 * with the function's session token in `X-Aws-Parameters-Secrets-Token`. The extension takes
 * requests only during an invocation, not while the module loads: readers read lazily.
 */
export function extensionFetcher(env: NodeJS.ProcessEnv = process.env): ParameterFetcher {
  return (name, version) =>
    new Promise((resolve, reject) => {
      const port = env[SECRETS_EXTENSION_ENV.httpPort] || DEFAULT_EXTENSION_PORT;
      const token = env.AWS_SESSION_TOKEN;
      if (!token)
        return reject(
          new SecretReadError(`${name} cannot be read: AWS_SESSION_TOKEN, which the Parameters and Secrets extension requires, is not set`),
        );
      const query = new URLSearchParams({ name, ...(version ? { version: String(version) } : {}), withDecryption: "true" });
      const fail = (why: string, status?: number) =>
        reject(
          new SecretReadError(
            `${version ? `${name}:${version}` : name} was not read through the Parameters and Secrets extension (${EXTENSION_HOST}:${port}): ${why}`,
            status,
          ),
        );
      const request = get(
        `http://${EXTENSION_HOST}:${port}/systemsmanager/parameters/get?${query}`,
        { headers: { "X-Aws-Parameters-Secrets-Token": token }, timeout: EXTENSION_TIMEOUT_MS },
        (response) => {
          let body = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (body += chunk));
          response.on("error", (err) => fail(err.message));
          response.on("end", () => {
            // An answer other than 200 holds the extension's error (`{"error": "400 Bad Request: …"}`), never a value.
            if (response.statusCode !== 200) return fail(extensionError(response.statusCode, body), response.statusCode);
            let parameter: { Value?: unknown; Version?: unknown; LastModifiedDate?: unknown } | undefined;
            try {
              parameter = JSON.parse(body).Parameter;
            } catch {
              return fail("its answer is not JSON", response.statusCode);
            }
            if (typeof parameter?.Value !== "string") return fail("its answer has no value", response.statusCode);
            const modified = parameter.LastModifiedDate;
            resolve({
              value: parameter.Value,
              version: typeof parameter.Version === "number" ? parameter.Version : undefined,
              // The extension writes the date as ISO 8601; SSM's own protocol as epoch seconds.
              lastModified:
                typeof modified === "string" ? new Date(modified) : typeof modified === "number" ? new Date(modified * 1000) : undefined,
            });
          });
        },
      );
      request.on("timeout", () => request.destroy(new Error(`no answer within ${EXTENSION_TIMEOUT_MS} ms`)));
      request.on("error", (err) => fail(err.message));
    });
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
    this.fetch = options.fetch ?? extensionFetcher(this.env);
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
    if (version) return this.fetch(source.parameter, version);
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
    if (entry.lastForcedAt !== undefined && now - entry.lastForcedAt < MIN_REFRESH_INTERVAL_MS)
      return (await (entry.pending ?? this.read(name))).value;
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
          console.warn(
            JSON.stringify({
              level: "WARN",
              message: "secret not read again: the value read before is kept",
              parameter,
              error: err.message,
            }),
          );
          entry.freshUntil = this.clock() + Math.min(this.maxAgeMs, MIN_REFRESH_INTERVAL_MS);
          return entry.current;
        },
      )
      .finally(() => (entry.pending = undefined));
    return entry.pending;
  }
}
