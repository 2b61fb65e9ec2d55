/**
 * The engine of a warm container, over one MongoDB client made from the URI its secret
 * holds. A new URI (a rotation, seen once the secret's maxAge has passed) gets a new client.
 * When MongoDB refuses the credentials, the URI is read again at once and, if it changed, the
 * call is made once more with a client made from it.
 */
import { type MongoClientOptions, MongoServerError, MongoServerSelectionError } from "mongodb";
import type { Iota } from "./engine";

/**
 * How long a MongoDB server on this machine gets to answer. The driver's default, 30 s, rides
 * out a replica set's election and stays for every deployed URI (Atlas's are never this
 * machine). A server on this machine (`npm run invoke`, `npm run iota:migrate`, the tests)
 * answers within milliseconds or is not running: waiting 30 s would only delay the message.
 */
export const LOCAL_SERVER_SELECTION_TIMEOUT_MS = 2_000;

/** Whether every host of a `mongodb://` URI is this machine. A `mongodb+srv://` URI is looked up in DNS: never. */
export function isLoopbackUri(uri: string): boolean {
  const hosts = /^mongodb:\/\/(?:[^@/]*@)?([^/?]+)/.exec(uri)?.[1];
  return !!hosts && hosts.split(",").every((host) => /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i.test(host));
}

/** The client options of a URI: the short server selection timeout when its server is this machine, else the driver's. */
export function mongoClientOptions(uri: string, remoteServerSelectionTimeoutMS?: number): MongoClientOptions {
  const serverSelectionTimeoutMS = isLoopbackUri(uri) ? LOCAL_SERVER_SELECTION_TIMEOUT_MS : remoteServerSelectionTimeoutMS;
  return serverSelectionTimeoutMS === undefined ? {} : { serverSelectionTimeoutMS };
}

/** No MongoDB server iota can use: none answered, or one without transactions. */
export class IotaMongoError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = "IotaMongoError";
  }
}

/** What iota needs of its server, for the messages below. */
const NEEDS = "iota needs a MongoDB replica set (or a sharded cluster): it applies each event in a transaction";

/**
 * The error, or one that says what to fix when it means there is no server iota can use:
 * `where` names the setting that gave the URI (never the URI: it holds the password), and
 * `hint` what to do.
 */
export function explainMongoError(err: unknown, where: string, hint = ""): unknown {
  if (err instanceof MongoServerSelectionError) {
    return new IotaMongoError(`no MongoDB server answered at the URI in ${where} (${err.message}). ${NEEDS}.${hint && ` ${hint}`}`, {
      cause: err,
    });
  }
  // A standalone server has no transactions (IllegalOperation).
  if (err instanceof MongoServerError && err.code === 20 && /replica set member or mongos/.test(err.message)) {
    return new IotaMongoError(`the MongoDB server at the URI in ${where} is a standalone server. ${NEEDS}.${hint && ` ${hint}`}`, {
      cause: err,
    });
  }
  return err;
}

/** An engine and the way to close its client. */
export interface ConnectedIota {
  engine: Iota;
  close(): Promise<void>;
}

export interface IotaConnectionOptions {
  /** The URI, from the secret's cache. */
  uri: () => Promise<string>;
  /** The URI read again, after MongoDB refused it. */
  refreshUri: () => Promise<string>;
  connect: (uri: string) => Promise<ConnectedIota>;
}

/**
 * MongoDB refused the user name or password: AuthenticationFailed (18), or the AtlasError
 * (8000, "bad auth") that Atlas answers instead. The driver's error, or one it caused.
 */
export function isMongoAuthError(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof MongoServerError && (e.code === 18 || (e.code === 8000 && /auth/i.test(e.message)))) return true;
  }
  return false;
}

export class IotaConnection {
  private current?: { uri: string; connected: Promise<ConnectedIota> };

  constructor(private readonly options: IotaConnectionOptions) {}

  /** Runs `use` with the engine; once more with a new client when the URI was rotated under it. */
  async run<T>(use: (engine: Iota) => Promise<T>): Promise<T> {
    const uri = await this.options.uri();
    try {
      return await use(await this.engine(uri));
    } catch (err) {
      if (!isMongoAuthError(err)) throw err;
      const renewed = await this.options.refreshUri();
      if (renewed === uri) throw err;
      return use(await this.engine(renewed));
    }
  }

  private async engine(uri: string): Promise<Iota> {
    if (this.current?.uri !== uri) {
      const replaced = this.current;
      const connected = this.options.connect(uri);
      const current = { uri, connected };
      this.current = current;
      // A failed connection is not kept: the next call tries again.
      connected.catch(() => {
        if (this.current === current) this.current = undefined;
      });
      replaced?.connected.then((c) => c.close()).catch(() => undefined);
    }
    return (await this.current.connected).engine;
  }
}
