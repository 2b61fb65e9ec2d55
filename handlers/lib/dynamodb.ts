/**
 * DynamoDB's JSON protocol, with the SDK client's own parts (its endpoint, credentials,
 * region and retry strategy, resolved once per container) but without its per-request
 * middleware stack and HTTP handler, whose dozen async steps, schema serde and timers cost
 * more CPU than the request itself (docs/bench.md). Each request is one POST over a
 * keep-alive agent, as the SDK's handler sends it, signed as the SDK's SignatureV4 signs it;
 * its body is the API's own DynamoDB JSON, as the SDK writes it, and the answer is parsed once.
 *
 * Errors are the SDK's: a DynamoDBServiceException named after the error's type
 * (`ConditionalCheckFailedException`, ...) with `$fault` and `$metadata`, or Node's own
 * (resets, refused connections). They are classified and retried as the SDK's retry
 * middleware does, with the client's retry strategy.
 *
 * `documents()` adds lib-dynamodb's translation (JS values in, JS values out) for the few
 * operations the handlers use.
 */
import { createHash, createHmac } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import { type AttributeValue, type DynamoDBClient, DynamoDBServiceException, GetItemCommand } from "@aws-sdk/client-dynamodb";
import type { DeleteCommandInput, GetCommandInput, PutCommandInput, UpdateCommandInput } from "@aws-sdk/lib-dynamodb";
import { marshall, type marshallOptions, unmarshall, type unmarshallOptions } from "@aws-sdk/util-dynamodb";
import { getEndpointFromInstructions } from "@smithy/core/endpoints";
import { isServerError, isThrottlingError, isTransientError } from "@smithy/core/retry";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, RetryErrorType, RetryStrategyV2 } from "@smithy/types";

type Json = Record<string, any>;

/** What a request needs that does not change between requests: resolved from the client once. */
interface Resolved {
  url: URL;
  signer: DynamoDBSigner;
  retry: RetryStrategyV2;
}

const TARGET_PREFIX = "DynamoDB_20120810.";

export class DynamoDBJson {
  private resolved?: Promise<Resolved>;

  constructor(readonly client: DynamoDBClient) {}

  private resolve(): Promise<Resolved> {
    return (this.resolved ??= (async () => {
      const config = this.client.config;
      // The endpoint as the SDK's endpoint middleware resolves it (AWS_ENDPOINT_URL_DYNAMODB
      // included). It depends on the table only for a table ARN, which nothing here uses.
      const endpoint = await getEndpointFromInstructions({ TableName: "t" }, GetItemCommand, config as never);
      const retry = await config.retryStrategy();
      if (!("acquireInitialRetryToken" in retry)) throw new Error("DynamoDBJson needs a retry strategy of the SDK's current kind");
      return { url: endpoint.url, signer: new DynamoDBSigner(config.credentials, await config.region()), retry };
    })().catch((err) => {
      this.resolved = undefined;
      throw err;
    }));
  }

  /** One operation (`GetItem`, `PutItem`, ...), its input and output in DynamoDB JSON, retried as the SDK retries. */
  async call<T = Json>(operation: string, input: Json): Promise<T> {
    const { url, signer, retry } = await this.resolve();
    const body = JSON.stringify(input);
    let token = await retry.acquireInitialRetryToken("");
    for (let attempt = 1; ; attempt++) {
      try {
        const output = await this.attempt(url, signer, operation, body);
        retry.recordSuccess(token);
        return output as T;
      } catch (err) {
        const error = err as Error & { $metadata?: { attempts?: number } };
        try {
          token = await retry.refreshRetryTokenForRetry(token, { error: error as never, errorType: retryErrorType(error) });
        } catch {
          if (error.$metadata) error.$metadata.attempts = attempt;
          throw error;
        }
        const delay = token.getRetryDelay();
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private async attempt(url: URL, signer: DynamoDBSigner, operation: string, body: string): Promise<Json> {
    const headers: Record<string, string> = {
      host: url.host,
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": TARGET_PREFIX + operation,
      "content-length": String(Buffer.byteLength(body)),
    };
    // Lambda's trace header, as the SDK's recursion-detection middleware passes it on.
    const traceId = process.env._X_AMZN_TRACE_ID;
    if (traceId && process.env.AWS_LAMBDA_FUNCTION_NAME) headers["x-amzn-trace-id"] = traceId;
    await signer.sign(headers, url.pathname, body);
    const response = await send(url, headers, body);
    if (response.statusCode >= 300) throw serviceError(response, response.text);
    return response.text === "" ? {} : JSON.parse(response.text);
  }

  /** The JS-value translation of lib-dynamodb's DocumentClient, for the operations the handlers use. */
  documents(options: { marshall?: marshallOptions; unmarshall?: unmarshallOptions } = {}): DynamoDBDocuments {
    const toAttributes = (values: Json | undefined) => (values === undefined ? undefined : marshall(values, options.marshall));
    const toItem = (item: Record<string, AttributeValue> | undefined) =>
      item === undefined ? undefined : unmarshall(item, options.unmarshall);
    const expressions = (input: { ExpressionAttributeValues?: Json }) =>
      input.ExpressionAttributeValues === undefined ? {} : { ExpressionAttributeValues: toAttributes(input.ExpressionAttributeValues) };
    return {
      get: async (input) =>
        toItem((await this.call<{ Item?: Record<string, AttributeValue> }>("GetItem", { ...input, Key: toAttributes(input.Key) })).Item),
      put: async (input) => void (await this.call("PutItem", { ...input, Item: toAttributes(input.Item), ...expressions(input) })),
      update: async (input) => void (await this.call("UpdateItem", { ...input, Key: toAttributes(input.Key), ...expressions(input) })),
      delete: async (input) => void (await this.call("DeleteItem", { ...input, Key: toAttributes(input.Key), ...expressions(input) })),
    };
  }
}

/** The DocumentClient operations the handlers use: JS values in, JS values out. */
export interface DynamoDBDocuments {
  /** The item, or undefined when there is none. */
  get(input: GetCommandInput): Promise<Record<string, any> | undefined>;
  put(input: PutCommandInput): Promise<void>;
  update(input: UpdateCommandInput): Promise<void>;
  delete(input: DeleteCommandInput): Promise<void>;
}

/** The lib-dynamodb translation over a client, as the alma cache functions use it (undefined attributes left out). */
export function documentsOf(client: DynamoDBClient): DynamoDBDocuments {
  return new DynamoDBJson(client).documents({ marshall: { removeUndefinedValues: true } });
}

/**
 * SigV4 for DynamoDB's JSON POSTs, signed as the SDK's SignatureV4 signs them (the tests
 * compare the two): every header but the trace header signed, the payload's SHA-256 in
 * `x-amz-content-sha256`, the session token in `x-amz-security-token`, the signing key kept
 * for its day. SignatureV4 is generic (query strings, presigning, streams, other hashes) and
 * costs about four times the CPU per request.
 */
export class DynamoDBSigner {
  private key?: { id: string; value: Buffer };

  constructor(
    private readonly credentials: AwsCredentialIdentityProvider,
    private readonly region: string,
  ) {}

  /** Adds the date, token, payload hash and Authorization headers to `headers` (lower-case names). */
  async sign(headers: Record<string, string>, path: string, body: string, now = new Date()): Promise<void> {
    const credentials = await this.credentials();
    if (typeof credentials?.accessKeyId !== "string" || typeof credentials.secretAccessKey !== "string")
      throw new Error("DynamoDB credentials are not resolved");
    const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, "");
    const scope = `${amzDate.slice(0, 8)}/${this.region}/dynamodb/aws4_request`;
    const payloadHash = createHash("sha256").update(body).digest("hex");
    headers["x-amz-date"] = amzDate;
    if (credentials.sessionToken) headers["x-amz-security-token"] = credentials.sessionToken;
    headers["x-amz-content-sha256"] = payloadHash;
    const names = Object.keys(headers)
      .filter((name) => name !== "x-amzn-trace-id")
      .sort();
    const canonicalHeaders = names
      .map(
        (name) =>
          `${name}:${headers[name]
            .replace(/[\r\n]/g, " ")
            .replace(/[ \t]+/g, " ")
            .replace(/^ | $/g, "")}\n`,
      )
      .join("");
    const canonicalRequest = `POST\n${path}\n\n${canonicalHeaders}\n${names.join(";")}\n${payloadHash}`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash("sha256").update(canonicalRequest).digest("hex")}`;
    const signature = createHmac("sha256", this.signingKey(credentials, scope)).update(stringToSign).digest("hex");
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  }

  private signingKey(credentials: AwsCredentialIdentity, scope: string): Buffer {
    const id = `${credentials.secretAccessKey}/${scope}`;
    if (this.key?.id !== id) {
      const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
      const value = scope
        .split("/")
        .reduce((key: string | Buffer, part) => hmac(key, part), `AWS4${credentials.secretAccessKey}`) as Buffer;
      this.key = { id, value };
    }
    return this.key.value;
  }
}

/** As the SDK's NodeHttpHandler keeps them: keep-alive, 50 sockets. */
const agents = {
  "http:": new http.Agent({ keepAlive: true, maxSockets: 50 }),
  "https:": new https.Agent({ keepAlive: true, maxSockets: 50 }),
};

function send(
  url: URL,
  headers: Record<string, string>,
  body: string,
): Promise<{ statusCode: number; headers: Record<string, string>; text: string }> {
  const isSsl = url.protocol === "https:";
  return new Promise((resolve, reject) => {
    const req = (isSsl ? https : http).request(
      {
        host: url.hostname,
        port: url.port || undefined,
        method: "POST",
        path: url.pathname,
        headers,
        agent: agents[isSsl ? "https:" : "http:"],
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            statusCode: res.statusCode ?? -1,
            headers: res.headers as Record<string, string>,
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The error of a DynamoDB answer, as the SDK's JSON protocol deserializes an unmodelled one. */
function serviceError(response: { statusCode: number; headers: Record<string, string> }, text: string): DynamoDBServiceException {
  let parsed: Json = {};
  try {
    parsed = text === "" ? {} : JSON.parse(text);
  } catch {
    parsed = {};
  }
  const header = response.headers["x-amzn-errortype"] ?? "";
  const type = String(header.split(":")[0] || parsed.__type || parsed.code || "");
  const name = type.slice(type.lastIndexOf("#") + 1) || `Http${response.statusCode}Error`;
  const error = new DynamoDBServiceException({
    name,
    message: parsed.message ?? parsed.Message ?? `DynamoDB answered ${response.statusCode}`,
    $fault: response.statusCode >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: response.statusCode, requestId: response.headers["x-amzn-requestid"] },
  });
  Object.assign(error, parsed, { name });
  delete (error as Json).__type;
  return error;
}

/** How the SDK's retry middleware classifies an error for its retry strategy. */
function retryErrorType(error: Error): RetryErrorType {
  if (isThrottlingError(error as never)) return "THROTTLING";
  if (isTransientError(error as never)) return "TRANSIENT";
  if (isServerError(error as never)) return "SERVER_ERROR";
  return "CLIENT_ERROR";
}
