/**
 * A local stand-in for SSM Parameter Store, for the functions' secrets and their rotation,
 * in both the ways functions read it:
 * - SSM's JSON protocol: GetParameter (by name, or `name:<version>`) and PutParameter (a new
 *   version; an existing name needs Overwrite). Errors are SSM's: ParameterNotFound,
 *   ParameterVersionNotFound, ParameterAlreadyExists.
 * - the AWS Parameters and Secrets Lambda Extension's HTTP API, as the extension serves it on
 *   localhost with its cache off (every request is a GetParameter): `GET
 *   /systemsmanager/parameters/get?name=…[&version=…][&withDecryption=true]` with the
 *   `X-Aws-Parameters-Secrets-Token` header, answered with GetParameter's JSON
 *   (LastModifiedDate in ISO 8601, Selector, ResultMetadata). The extension answers any
 *   failed GetParameter with a 400 that does not say which: so does this stand-in.
 * Every version is kept with its LastModifiedDate. Labels and ARNs as names are not supported.
 */
import { type HttpStub, type StubOptions, type StubResponse, startStub } from "./http-stub";

interface Version {
  value: string;
  type: string;
  modified: Date;
}

export interface FakeSsmOptions extends StubOptions {
  /** Parameters to start with (SecureStrings, version 1). */
  parameters?: Record<string, string>;
  /** The clock that dates each version; the system's by default. */
  now?: () => Date;
}

export interface FakeSsm {
  url: string;
  /** Writes a new version, as PutParameter with Overwrite does; returns its number. */
  put(name: string, value: string): number;
  /** Every GetParameter request, through either API, failed ones too, by the name asked for (`name` or `name:3`), in order. */
  gets: string[];
  /** The port the extension's API is on: PARAMETERS_SECRETS_EXTENSION_HTTP_PORT for the functions. */
  extensionPort: string;
  /** Make the next `n` requests fail with this status (500 by default). */
  failNext(n: number, status?: number): void;
  stub: HttpStub;
  close(): Promise<void>;
}

const REGION = "eu-west-2";
const ACCOUNT = "000000000000";

export async function startFakeSsm(options: FakeSsmOptions = {}): Promise<FakeSsm> {
  const now = options.now ?? (() => new Date());
  const parameters = new Map<string, Version[]>();
  const gets: string[] = [];
  let failures = 0;
  let failureStatus = 500;

  const error = (type: string, message: string, status = 400): StubResponse => ({ status, body: { __type: type, message } });
  const put = (name: string, value: string, type = "SecureString") => {
    const versions = parameters.get(name) ?? [];
    versions.push({ value, type, modified: now() });
    parameters.set(name, versions);
    return versions.length;
  };
  for (const [name, value] of Object.entries(options.parameters ?? {})) put(name, value);

  function getParameter(input: { Name?: string; WithDecryption?: boolean }): StubResponse {
    const asked = String(input.Name ?? "");
    const [, name, selector] = /^([^:]*)(?::(.*))?$/.exec(asked)!;
    const versions = parameters.get(name);
    if (!versions) return error("ParameterNotFound", `Parameter ${name} not found.`);
    if (selector !== undefined && !/^\d+$/.test(selector)) return error("ValidationException", `the SSM stand-in has no labels: ${asked}`);
    const number = selector === undefined ? versions.length : Number(selector);
    const version = versions[number - 1];
    if (!version) return error("ParameterVersionNotFound", `Systems Manager could not find version ${number} of ${name}.`);
    const encrypted = version.type === "SecureString" && !input.WithDecryption;
    return {
      body: {
        Parameter: {
          Name: name,
          Type: version.type,
          // Without decryption SSM answers the ciphertext.
          Value: encrypted ? Buffer.from(`kms:${version.value}`).toString("base64") : version.value,
          Version: number,
          ...(selector === undefined ? {} : { Selector: `:${selector}` }),
          LastModifiedDate: version.modified.getTime() / 1000,
          ARN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${name.replace(/^\//, "")}`,
          DataType: "text",
        },
      },
    };
  }

  function putParameter(input: { Name?: string; Value?: string; Type?: string; Overwrite?: boolean }): StubResponse {
    const name = String(input.Name ?? "");
    if (!name || typeof input.Value !== "string") return error("ValidationException", "Name and Value are required");
    const existing = parameters.get(name);
    if (existing && !input.Overwrite)
      return error(
        "ParameterAlreadyExists",
        "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
      );
    if (!existing && !input.Type) return error("ValidationException", "A parameter type is required when you create a parameter.");
    return { body: { Version: put(name, input.Value, input.Type ?? existing!.at(-1)!.type), Tier: "Standard" } };
  }

  /** The extension's answer: GetParameter's JSON, dates in ISO 8601, its own 400 for any SSM error. */
  function extensionGet(query: URLSearchParams, token: unknown): StubResponse {
    const name = query.get("name") ?? "";
    const version = query.get("version");
    const asked = version ? `${name}:${version}` : name;
    gets.push(asked);
    if (!token) return { status: 401, body: { error: "401 Unauthorized: the X-Aws-Parameters-Secrets-Token header is missing" } };
    if (failures > 0) {
      failures -= 1;
      return { status: failureStatus, body: { error: `${failureStatus} injected failure` } };
    }
    const answer = getParameter({ Name: asked, WithDecryption: query.get("withDecryption") === "true" });
    if (answer.status) return { status: 400, body: { error: "400 Bad Request: an unexpected error occurred while executing request" } };
    const { Parameter } = answer.body as { Parameter: Record<string, unknown> & { LastModifiedDate: number } };
    return {
      body: {
        Parameter: {
          ...Parameter,
          LastModifiedDate: new Date(Parameter.LastModifiedDate * 1000).toISOString(),
          Selector: Parameter.Selector ?? null,
          SourceResult: null,
        },
        ResultMetadata: {},
      },
    };
  }

  const stub = await startStub((req) => {
    if (req.method === "GET" && req.path.replace(/\/$/, "") === "/systemsmanager/parameters/get") {
      return extensionGet(req.query, req.headers["x-aws-parameters-secrets-token"]);
    }
    const target = String(req.headers["x-amz-target"] ?? "");
    const input = req.body ? JSON.parse(req.body) : {};
    if (target === "AmazonSSM.GetParameter") gets.push(String(input.Name ?? ""));
    if (failures > 0) {
      failures -= 1;
      return error("InternalServerError", "injected failure", failureStatus);
    }
    switch (target) {
      case "AmazonSSM.GetParameter":
        return getParameter(input);
      case "AmazonSSM.PutParameter":
        return putParameter(input);
      default:
        return error("UnsupportedOperation", `the SSM stand-in does not answer ${target}`);
    }
  }, options);
  return {
    url: stub.url,
    extensionPort: new URL(stub.url).port,
    put: (name, value) => put(name, value, parameters.get(name)?.at(-1)?.type),
    gets,
    failNext(n, status = 500) {
      failures = n;
      failureStatus = status;
    },
    stub,
    close: () => stub.close(),
  };
}
