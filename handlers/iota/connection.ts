/**
 * The engine of a warm container, over one MongoDB client made from the URI its secret
 * holds. A new URI (a rotation, seen once the secret's maxAge has passed) gets a new client.
 * When MongoDB refuses the credentials, the URI is read again at once and, if it changed, the
 * call is made once more with a client made from it.
 */
import { MongoServerError } from "mongodb";
import type { Iota } from "./engine";

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
