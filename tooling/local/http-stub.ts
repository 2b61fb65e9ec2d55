/**
 * A small HTTP server on 127.0.0.1 that stands in for an external API (Auth0, the Learning
 * Paths API, Airtable, Badgr, GitHub, the Atlas Admin API). It records every request and
 * answers from a route function that the test writes.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface StubResponse {
  status?: number;
  /** Serialized as JSON unless it is a string or a Buffer. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Drop the connection without an answer. */
  reset?: boolean;
}

export type Route = (request: RecordedRequest) => StubResponse | Promise<StubResponse>;

export interface HttpStub {
  url: string;
  requests: RecordedRequest[];
  /** Requests whose method and path match. */
  to(method: string, path: string | RegExp): RecordedRequest[];
  close(): Promise<void>;
}

export interface StubOptions {
  /** Called with every request as it arrives (the local stand-ins log them). */
  onRequest?: (request: RecordedRequest) => void;
}

export async function startStub(route: Route, options: StubOptions = {}): Promise<HttpStub> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const recorded: RecordedRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      options.onRequest?.(recorded);
      let answer: StubResponse;
      try {
        answer = await route(recorded);
      } catch (err) {
        answer = { status: 599, body: { message: `stub route failed: ${(err as Error).message}` } };
      }
      if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
      if (answer.reset) {
        req.socket.destroy();
        return;
      }
      const isRaw = typeof answer.body === "string" || Buffer.isBuffer(answer.body);
      const payload = answer.body === undefined ? "" : isRaw ? (answer.body as string | Buffer) : JSON.stringify(answer.body);
      res.writeHead(answer.status ?? 200, {
        ...(isRaw || answer.body === undefined ? {} : { "content-type": "application/json" }),
        ...answer.headers,
      });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    to: (method, path) => requests.filter((r) => r.method === method && (typeof path === "string" ? r.path === path : path.test(r.path))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A fast retry policy for tests: same shape as production, short waits, bounded total time. */
export const FAST_RETRY = { retries: 3, minTimeoutMs: 5, maxTimeoutMs: 20, maxRetryTimeMs: 2_000, requestTimeoutMs: 500 };
