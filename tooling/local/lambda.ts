/**
 * A local stand-in for Lambda: its Invoke API (`POST /2015-03-31/functions/{name}/invocations`)
 * on 127.0.0.1, running each function's real bundle in this process, as `npm run invoke`
 * does. Point the AWS SDK at it with AWS_ENDPOINT_URL_LAMBDA.
 *
 * - RequestResponse: the handler's result as JSON; a thrown error is answered as Lambda
 *   answers it, 200 with `X-Amz-Function-Error: Unhandled` and `{errorType, errorMessage}`.
 * - Event: 202 at once; the handler runs after, and a failure is retried and then kept as
 *   Lambda's on-failure destination keeps it (an invocation record sent to an SQS queue).
 * - An unknown function: 404 ResourceNotFoundException, as Lambda answers it.
 *
 * Every function of one stand-in runs in one process and shares its environment: each
 * function's variables are set when its bundle loads and when it is invoked, so functions
 * that run at once must agree on the variables they share (the AWS endpoints do). A bundle
 * loads once per process, as a warm container keeps it: what its module reads at load (table
 * names, clients) stays as the first load found it.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import * as http from "node:http";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { bundleHandler } from "../../components/lambda/bundle";
import { LOCAL_REGION, localClientConfig, setEnv } from "./aws";

export type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** The memory a local invocation reports: NodeFunction's default. */
export const LOCAL_MEMORY_MB = 256;
export const LOCAL_ACCOUNT = "000000000000";

export const functionArn = (name: string, region = process.env.AWS_REGION ?? LOCAL_REGION) =>
  `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${name}`;

/** The parts of the Lambda context that handlers and Powertools read. */
export function lambdaContext(functionName: string, timeoutSeconds: number) {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return {
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: functionArn(functionName),
    memoryLimitInMB: String(LOCAL_MEMORY_MB),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** What Lambda sets in every function's environment, before the handler's module loads. */
export function lambdaEnvironment(functionName: string): Record<string, string> {
  return {
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(LOCAL_MEMORY_MB),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
  };
}

/** The `handler` export of a bundle. */
export function loadHandler(bundleFile: string): Handler {
  const handler = (require(bundleFile) as { handler?: Handler }).handler;
  if (typeof handler !== "function") throw new Error(`${bundleFile} exports no handler function`);
  return handler;
}

export interface LocalFunction {
  /** The function's code: `handlers/<app>/functions/<handler>.ts`, bundled as it is deployed. */
  handler?: string;
  /** Or a handler that runs here as it is (for code whose bundle needs a server this machine lacks: iota needs MongoDB). */
  run?: Handler;
  /** The function's environment variables. */
  environment?: Record<string, string>;
  /** Default 30. */
  timeoutSeconds?: number;
  /** Asynchronous invocations: Lambda's retries, then the on-failure destination, an SQS queue (its URL). */
  async?: { maximumRetryAttempts: number; onFailureQueueUrl?: string };
}

export interface Invocation {
  functionName: string;
  type: "RequestResponse" | "Event";
  event: unknown;
  /** The thrown error's message, when it failed. */
  error?: string;
}

export interface LocalLambda {
  url: string;
  /** Every invocation that ran, in the order they finished. */
  invocations: Invocation[];
  /** Adds (or replaces) a function. */
  add(name: string, fn: LocalFunction): void;
  /** Deletes a function: it is unknown from then on. */
  remove(name: string): void;
  /** Runs the function as Lambda would for this invocation type; an unknown function throws. */
  invoke(
    name: string,
    event: unknown,
    type?: "RequestResponse" | "Event",
  ): Promise<{ result?: unknown; error?: { errorType: string; errorMessage: string } }>;
  /** Resolves once no asynchronous invocation is running or waiting for its retry. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export class FunctionNotFoundError extends Error {
  constructor(readonly functionName: string) {
    super(`Function not found: ${functionArn(functionName)}`);
    this.name = "ResourceNotFoundException";
  }
}

/** A function name from what the Invoke API takes: a name, an ARN, or a partial ARN, with or without a qualifier. */
export function functionNameOf(nameOrArn: string): string {
  const parts = nameOrArn.split(":");
  if (parts[0] === "arn") return parts[6] ?? "";
  // `123456789012:function:name`
  if (parts[1] === "function") return parts[2] ?? "";
  return parts[0];
}

export async function startLocalLambda(
  options: { functions?: Record<string, LocalFunction>; sqsEndpoint?: string } = {},
): Promise<LocalLambda> {
  const functions = new Map<string, LocalFunction>(Object.entries(options.functions ?? {}));
  const loaded = new Map<string, Promise<Handler>>();
  const invocations: Invocation[] = [];
  const pending = new Set<Promise<void>>();
  // Every variable a function sets is put back as it was when the stand-in closes.
  const original = new Map<string, string | undefined>();
  const applyEnv = (name: string, fn: LocalFunction) => {
    for (const [key, value] of Object.entries({ ...lambdaEnvironment(name), ...fn.environment })) {
      if (!original.has(key)) original.set(key, process.env[key]);
      process.env[key] = value;
    }
  };
  const sqs = options.sqsEndpoint ? new SQSClient(localClientConfig(options.sqsEndpoint)) : undefined;

  const handlerOf = (name: string, fn: LocalFunction): Promise<Handler> => {
    if (fn.run) return Promise.resolve(fn.run);
    let handler = loaded.get(name);
    if (!handler) {
      handler = bundleHandler({ handler: fn.handler ?? name }).then((bundle) => {
        applyEnv(name, fn);
        return loadHandler(bundle.file);
      });
      loaded.set(name, handler);
    }
    return handler;
  };

  const runOnce = async (name: string, event: unknown, type: Invocation["type"]) => {
    const fn = functions.get(name);
    if (!fn) throw new FunctionNotFoundError(name);
    const handler = await handlerOf(name, fn);
    applyEnv(name, fn);
    try {
      const result = await handler(event, lambdaContext(name, fn.timeoutSeconds ?? 30));
      invocations.push({ functionName: name, type, event });
      return { result };
    } catch (err) {
      const error =
        err instanceof Error ? { errorType: err.name, errorMessage: err.message } : { errorType: "Error", errorMessage: String(err) };
      invocations.push({ functionName: name, type, event, error: error.errorMessage });
      return { error };
    }
  };

  /** Lambda's asynchronous invocation: the first attempt and its retries, then the invocation record in the on-failure queue. */
  const runAsync = async (name: string, fn: LocalFunction, event: unknown) => {
    const attempts = 1 + (fn.async?.maximumRetryAttempts ?? 2);
    let last: { errorType: string; errorMessage: string } | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const { error } = await runOnce(name, event, "Event");
      if (!error) return;
      last = error;
    }
    const queueUrl = fn.async?.onFailureQueueUrl;
    if (!queueUrl || !sqs) return;
    // Lambda's invocation record, as its on-failure destination receives it.
    const record = {
      version: "1.0",
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: randomUUID(),
        functionArn: `${functionArn(name)}:$LATEST`,
        condition: "RetriesExhausted",
        approximateInvokeCount: attempts,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      responsePayload: { ...last, trace: [] },
    };
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(record) }));
  };

  const invoke: LocalLambda["invoke"] = async (name, event, type = "RequestResponse") => {
    if (type === "RequestResponse") return runOnce(name, event, type);
    const fn = functions.get(name);
    if (!fn) throw new FunctionNotFoundError(name);
    const run = runAsync(name, fn, event).finally(() => pending.delete(run));
    pending.add(run);
    return {};
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/json", "x-amzn-requestid": randomUUID(), ...headers });
        res.end(body === undefined ? "" : JSON.stringify(body));
      };
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
      if (req.method !== "POST" || !match)
        return answer(
          404,
          { Type: "User", message: `the Lambda stand-in does not answer ${req.method} ${req.url}` },
          { "x-amzn-errortype": "UnknownOperationException" },
        );
      const name = functionNameOf(decodeURIComponent(match[1]));
      const type = String(req.headers["x-amz-invocation-type"] ?? "RequestResponse") === "Event" ? "Event" : "RequestResponse";
      const text = Buffer.concat(chunks).toString("utf8");
      let event: unknown;
      try {
        event = text === "" ? {} : JSON.parse(text);
      } catch {
        return answer(
          400,
          { Type: "User", message: "Could not parse request body into json" },
          { "x-amzn-errortype": "InvalidRequestContentException" },
        );
      }
      try {
        const { result, error } = await invoke(name, event, type);
        if (type === "Event") return answer(202, undefined);
        if (error)
          return answer(200, { ...error, trace: [] }, { "x-amz-function-error": "Unhandled", "x-amz-executed-version": "$LATEST" });
        return answer(200, result ?? null, { "x-amz-executed-version": "$LATEST" });
      } catch (err) {
        if (err instanceof FunctionNotFoundError)
          return answer(404, { Type: "User", Message: err.message }, { "x-amzn-errortype": "ResourceNotFoundException" });
        return answer(500, { Type: "Service", Message: (err as Error).message }, { "x-amzn-errortype": "ServiceException" });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  const idle = async () => {
    while (pending.size > 0) await Promise.all([...pending]);
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    invocations,
    add: (name, fn) => void functions.set(name, fn),
    remove: (name) => void functions.delete(name),
    invoke,
    idle,
    async close() {
      await idle();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      setEnv(Object.fromEntries(original));
    },
  };
}
