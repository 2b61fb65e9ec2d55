/**
 * An HTTP proxy on 127.0.0.1 in front of a local server (dynalite, a stand-in) that fails on
 * purpose: DynamoDB throttling, 5xx answers, slow answers and dropped connections, for the
 * next N requests. Everything else is forwarded untouched.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export type Fault =
  | { kind: "throttle" }
  | { kind: "status"; status: number; body?: string }
  | { kind: "slow"; delayMs: number }
  | { kind: "reset" };

/** A request as the proxy sees it: its operation (`PutItem`, from X-Amz-Target), body and headers. */
export interface ProxiedRequest {
  operation: string;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export interface FaultProxyOptions {
  /** Decides a request's fault, before any injected one: a test's own outage. */
  intercept?: (request: ProxiedRequest) => Fault | undefined;
}

export interface FaultProxy {
  url: string;
  /** Injects `fault` into the next `times` requests (optionally only those whose X-Amz-Target matches). */
  inject(fault: Fault, times: number, target?: RegExp): void;
  requests: number;
  /** The operation of every request, in order (the caller may empty it). */
  operations: string[];
  faulted: number;
  close(): Promise<void>;
}

const THROTTLED = JSON.stringify({
  __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
  message: "The level of configured provisioned throughput for the table was exceeded (injected)",
});

export async function startFaultProxy(target: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const upstream = new URL(target);
  let pending: { fault: Fault; times: number; target?: RegExp } | undefined;
  const state = { requests: 0, faulted: 0 };
  const operations: string[] = [];
  const server = http.createServer((req, res) => {
    state.requests += 1;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const amzTarget = String(req.headers["x-amz-target"] ?? "");
      const operation = amzTarget.slice(amzTarget.lastIndexOf(".") + 1);
      operations.push(operation);
      const intercepted = options.intercept?.({ operation, body: Buffer.concat(chunks).toString("utf8"), headers: req.headers });
      const fault =
        intercepted ?? (pending && pending.times > 0 && (!pending.target || pending.target.test(amzTarget)) ? pending.fault : undefined);
      if (intercepted) state.faulted += 1;
      else if (fault && pending) {
        pending.times -= 1;
        state.faulted += 1;
      }
      if (fault?.kind === "reset") return void req.socket.destroy();
      if (fault?.kind === "throttle") {
        res.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
        return void res.end(THROTTLED);
      }
      if (fault?.kind === "status") {
        res.writeHead(fault.status, { "content-type": "application/json" });
        return void res.end(fault.body ?? "{}");
      }
      const forward = () => {
        const proxied = http.request(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        proxied.on("error", () => req.socket.destroy());
        proxied.end(Buffer.concat(chunks));
      };
      if (fault?.kind === "slow") setTimeout(forward, fault.delayMs);
      else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    inject: (fault, times, targetPattern) => (pending = { fault, times, target: targetPattern }),
    get requests() {
      return state.requests;
    },
    operations,
    get faulted() {
      return state.faulted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
