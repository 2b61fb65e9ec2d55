/**
 * AWS's JSON protocols (awsJson1_0, which DynamoDB and SQS speak, and awsJson1_1, SSM's and
 * EventBridge's) from the SDK's own parts,
 * without an SDK client: its configuration loaders (region, FIPS, dual-stack, account-id
 * endpoint mode, max attempts, retry mode), its credential provider, its endpoint rules and
 * its retry strategy, resolved once per container. A client's per-request middleware stack,
 * schema serde and HTTP handler cost more CPU than the request itself, and loading a client
 * (its commands, protocol and middleware) is most of a small function's cold start
 * (docs/bench.md). Each request is one POST over a keep-alive agent, as the SDK's handler
 * sends it, signed as the SDK's SignatureV4 signs it; its body is the API's own JSON, and
 * the answer is parsed once.
 *
 * Errors are the SDK's: the service's exception class (`DynamoDBServiceException`,
 * `SQSServiceException`) named after the error's type (`ConditionalCheckFailedException`,
 * `QueueDoesNotExist`, ...) with `$fault` and `$metadata`, or Node's own (resets, refused
 * connections). They are classified and retried as the SDK's retry middleware does.
 */
import { createHash, createHmac } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import { NODE_ACCOUNT_ID_ENDPOINT_MODE_CONFIG_OPTIONS } from "@aws-sdk/core/account-id-endpoint";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import type { ServiceException, ServiceExceptionOptions } from "@smithy/core/client";
import {
  loadConfig,
  memoize,
  NODE_REGION_CONFIG_FILE_OPTIONS,
  NODE_REGION_CONFIG_OPTIONS,
  NODE_USE_DUALSTACK_ENDPOINT_CONFIG_OPTIONS,
  NODE_USE_FIPS_ENDPOINT_CONFIG_OPTIONS,
} from "@smithy/core/config";
import { getEndpointFromInstructions } from "@smithy/core/endpoints";
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_MODE,
  isServerError,
  isThrottlingError,
  isTransientError,
  NODE_MAX_ATTEMPT_CONFIG_OPTIONS,
  NODE_RETRY_MODE_CONFIG_OPTIONS,
  resolveRetryConfig,
} from "@smithy/core/retry";
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  EndpointParameterInstructions,
  EndpointV2,
  Logger,
  RetryErrorType,
  RetryStrategyV2,
} from "@smithy/types";

export type Json = Record<string, any>;

/**
 * What a client takes, as an SDK client's configuration takes it (`localClientConfig` fits).
 * What is left out is read as the SDK reads it: the environment, then the shared config files.
 */
export interface AwsClientConfig {
  /** A fixed endpoint; else AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL or the profile's, else the service's own for the region. */
  endpoint?: string;
  region?: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  retryStrategy?: RetryStrategyV2;
}

/** A service that speaks awsJson1_0 or awsJson1_1, described by its SDK client's own parts. */
export interface JsonService {
  /** The SigV4 signing name, which is also the IAM action prefix: `dynamodb`, `sqs`. */
  signingName: string;
  /** The SDK's service id: AWS_ENDPOINT_URL_<ID> names the service by it. */
  serviceId: string;
  /** The `x-amz-target` prefix of an operation: `DynamoDB_20120810.`, `AmazonSQS.`. */
  targetPrefix: string;
  /** awsJson1_0 (the default) or awsJson1_1: they differ in the content type alone. */
  jsonVersion?: "1.0" | "1.1";
  /** The client's endpoint rules and the parameters its commands give them. */
  endpointProvider: (params: any, context?: { logger?: Logger }) => EndpointV2;
  endpointParameters: EndpointParameterInstructions;
  /** The client's base exception: errors are instances of it, as the SDK's are. */
  ServiceException: new (
    options: ServiceExceptionOptions,
  ) => ServiceException;
  /** The defaults the client gives resolveRetryConfig (DynamoDB's differ). */
  retryDefaults?: Parameters<typeof resolveRetryConfig>[1];
}

/** What a request needs that does not change between requests: resolved once. */
interface Resolved {
  url: URL;
  signer: AwsJsonSigner;
  retry: RetryStrategyV2;
}

export class AwsJsonClient {
  private resolved?: Promise<Resolved>;

  constructor(
    readonly service: JsonService,
    readonly config: AwsClientConfig = {},
  ) {}

  /** The endpoint's URL, as the client's endpoint middleware would resolve it. */
  async endpoint(): Promise<URL> {
    return (await this.resolve()).url;
  }

  private resolve(): Promise<Resolved> {
    return (this.resolved ??= (async () => {
      const { service, config } = this;
      const credentials = credentialProvider(config.credentials);
      const region = config.region ?? (await loadConfig(NODE_REGION_CONFIG_OPTIONS, NODE_REGION_CONFIG_FILE_OPTIONS)());
      const custom = config.endpoint;
      const endpoint = await getEndpointFromInstructions({}, { getEndpointParameterInstructions: () => service.endpointParameters }, {
        serviceId: service.serviceId,
        endpointProvider: service.endpointProvider,
        region,
        credentials,
        useFipsEndpoint: loadConfig(NODE_USE_FIPS_ENDPOINT_CONFIG_OPTIONS),
        useDualstackEndpoint: loadConfig(NODE_USE_DUALSTACK_ENDPOINT_CONFIG_OPTIONS),
        accountIdEndpointMode: loadConfig(NODE_ACCOUNT_ID_ENDPOINT_MODE_CONFIG_OPTIONS),
        isCustomEndpoint: custom !== undefined,
        endpoint: custom === undefined ? undefined : async () => ({ url: new URL(custom) }),
      } as never);
      const { retryStrategy } = resolveRetryConfig(
        {
          retryStrategy: config.retryStrategy,
          maxAttempts: loadConfig({
            ...NODE_MAX_ATTEMPT_CONFIG_OPTIONS,
            default: service.retryDefaults?.defaultMaxAttempts ?? DEFAULT_MAX_ATTEMPTS,
          }),
          retryMode: loadConfig({ ...NODE_RETRY_MODE_CONFIG_OPTIONS, default: DEFAULT_RETRY_MODE }),
        },
        service.retryDefaults,
      );
      const retry = await retryStrategy();
      if (!("acquireInitialRetryToken" in retry)) throw new Error("AwsJsonClient needs a retry strategy of the SDK's current kind");
      return { url: endpoint.url, signer: new AwsJsonSigner(credentials, region, service.signingName), retry };
    })().catch((err) => {
      this.resolved = undefined;
      throw err;
    }));
  }

  /**
   * One operation (`GetItem`, `SendMessage`, ...), its input and output in the API's JSON,
   * retried as the SDK retries. `origin` sends it elsewhere than the resolved endpoint (SQS's
   * queue URLs).
   */
  async call<T = Json>(operation: string, input: Json, origin?: URL): Promise<T> {
    const { url: endpoint, signer, retry } = await this.resolve();
    const url = origin ?? endpoint;
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

  private async attempt(url: URL, signer: AwsJsonSigner, operation: string, body: string): Promise<Json> {
    const headers: Record<string, string> = {
      host: url.host,
      "content-type": `application/x-amz-json-${this.service.jsonVersion ?? "1.0"}`,
      "x-amz-target": this.service.targetPrefix + operation,
      "content-length": String(Buffer.byteLength(body)),
    };
    // Lambda's trace header, as the SDK's recursion-detection middleware passes it on.
    const traceId = process.env._X_AMZN_TRACE_ID;
    if (traceId && process.env.AWS_LAMBDA_FUNCTION_NAME) headers["x-amzn-trace-id"] = traceId;
    await signer.sign(headers, url.pathname, body);
    const response = await send(url, headers, body);
    if (response.statusCode >= 300) throw serviceError(this.service, response);
    return response.text === "" ? {} : JSON.parse(response.text);
  }
}

/** The credentials as the SDK takes them: a value, a provider, or else the default chain (the environment, in a bundle), memoized as the SDK memoizes it. */
function credentialProvider(credentials: AwsClientConfig["credentials"]): AwsCredentialIdentityProvider {
  if (typeof credentials === "function") return credentials;
  if (credentials !== undefined) return async () => credentials;
  const expires = (value: AwsCredentialIdentity) => value.expiration !== undefined;
  return memoize(
    defaultProvider(),
    (value) => expires(value) && value.expiration!.getTime() - Date.now() < CREDENTIALS_REFRESH_MS,
    expires,
  );
}

/** As the SDK: credentials that expire are refreshed five minutes before they do. */
const CREDENTIALS_REFRESH_MS = 300_000;

/**
 * SigV4 for JSON POSTs, signed as the SDK's SignatureV4 signs them (the tests compare the
 * two): every header but the trace header signed, the payload's SHA-256 in
 * `x-amz-content-sha256`, the session token in `x-amz-security-token`, the signing key kept
 * for its day. SignatureV4 is generic (query strings, presigning, streams, other hashes) and
 * costs about four times the CPU per request.
 */
export class AwsJsonSigner {
  private key?: { id: string; value: Buffer };

  constructor(
    private readonly credentials: AwsCredentialIdentityProvider,
    private readonly region: string,
    private readonly signingName: string,
  ) {}

  /** Adds the date, token, payload hash and Authorization headers to `headers` (lower-case names). */
  async sign(headers: Record<string, string>, path: string, body: string, now = new Date()): Promise<void> {
    const credentials = await this.credentials();
    if (typeof credentials?.accessKeyId !== "string" || typeof credentials.secretAccessKey !== "string")
      throw new Error(`${this.signingName} credentials are not resolved`);
    const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, "");
    const scope = `${amzDate.slice(0, 8)}/${this.region}/${this.signingName}/aws4_request`;
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

interface Response {
  statusCode: number;
  headers: Record<string, string>;
  text: string;
}

function send(url: URL, headers: Record<string, string>, body: string): Promise<Response> {
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

/** The error of an answer, as the SDK's JSON protocol deserializes an unmodelled one: named by its type, without the namespace. */
function serviceError(service: JsonService, response: Response): ServiceException {
  let parsed: Json = {};
  try {
    const body = response.text === "" ? {} : JSON.parse(response.text);
    parsed = typeof body === "object" && body !== null ? body : {};
  } catch {
    parsed = {};
  }
  // As the SDK sanitizes an error code: `Type,extra`, `Type:http://...`, `namespace#Type`.
  const header = response.headers["x-amzn-errortype"] ?? "";
  const type = String(header || parsed.__type || parsed.code || "")
    .split(",")[0]
    .split(":")[0];
  const name = type.slice(type.lastIndexOf("#") + 1) || `Http${response.statusCode}Error`;
  const error = new service.ServiceException({
    name,
    message: parsed.message ?? parsed.Message ?? `${service.serviceId} answered ${response.statusCode}`,
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
