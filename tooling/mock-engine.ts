/**
 * Runs Pulumi programs under the mock engine and records what they would deploy.
 *
 * - Every registered or read resource is recorded with its type, name, inputs, URN and parent.
 * - URNs are the ones the real engine gives (see `resourceUrn`), and so are the URNs of aliases.
 * - Any provider function call (`aws.getRegion`, ...) that has no mock fails the run with its token.
 * - A run ends only when every registration has resolved.
 * - A stack's real `Pulumi.<stack>.yaml` is the config, with placeholders for its secrets.
 *
 * Used by the tests, `npm run preview` and the bench.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { originalOf } from "../components/originals";
import { PROJECT, parseConfigValues, requiredSecrets, type SecretDeclaration, secretSetCommand } from "../config";
import { type PolicyResource, SECRET_MARK } from "../policy/rules";
import { PROGRAM_FILE, REPO_ROOT, stackSettingsFile } from "../paths";

export const MOCK_ACCOUNT_ID = "123456789012";
/** What a secret value is shown as in recorded inputs and outputs (the policy rules look for it). */
export { SECRET_MARK };
/** Every placeholder secret starts with this, so a leaked one is easy to find. */
export const SECRET_PLACEHOLDER_PREFIX = "mock-secret:";

export interface RecordedResource {
  urn: string;
  type: string;
  /** Logical name. */
  name: string;
  /** URN of the parent; undefined only for the root stack. */
  parent?: string;
  /** Inputs with every secret shown as "[secret]" and assets as `{ path }` or `{ assets }`. */
  inputs: Record<string, any>;
  /** The same inputs with secret values in clear (the placeholders), for assertions on wiring. */
  rawInputs: Record<string, any>;
  /** The id the mock gave the resource (custom resources only). */
  id?: string;
  /** The state the mock returned (outputs). */
  state: Record<string, any>;
  /** True when read with `.get()` rather than created. */
  read: boolean;
  /** The resource options the engine acts on: adoption (`import`), protection and what is ignored. */
  options: ResourceOptionsRecord;
  /** What a component registered with `registerOutputs`, secrets shown as "[secret]". */
  outputs: Record<string, any>;
}

export interface ResourceOptionsRecord {
  /** The id of an existing resource that Pulumi imports instead of creating one. */
  import?: string;
  protect: boolean;
  retainOnDelete: boolean;
  ignoreChanges: string[];
  /** The URNs the resource was known by before (its `aliases`, resolved as the engine resolves them). */
  aliases: string[];
}

export interface RecordedCall {
  token: string;
  inputs: Record<string, any>;
}

export type CallMock = (inputs: Record<string, any>) => Record<string, any>;
/** Extra state for a resource, merged over the default mock state. */
export type StateMock = (args: pulumi.runtime.MockResourceArgs) => Record<string, any> | undefined;

export interface RunOptions {
  stack: string;
  /** Config as Pulumi hands it to a program (`namespace:key` → string). */
  config?: Record<string, string>;
  /** Keys of `config` that are secrets. */
  secretKeys?: string[];
  /** Mocks for provider functions, by token, on top of the defaults. */
  calls?: Record<string, CallMock>;
  /** Extra state per resource type, on top of the defaults. */
  states?: Record<string, StateMock>;
  /** Run as `pulumi preview` (true) or `pulumi up` (false, the default). */
  preview?: boolean;
}

export interface RunResult {
  stack: string;
  resources: RecordedResource[];
  calls: RecordedCall[];
  /** Stack outputs with secrets shown as "[secret]". */
  outputs: Record<string, any>;
  /** The config the program ran with (`namespace:key` → string; secrets are placeholders). */
  config: Record<string, string>;
  /** A stack's run (runStack): the secrets its settings file lacks, which ran with placeholders, and the ESC environments it imports. */
  settings?: Pick<StackConfig, "missingSecrets" | "environments" | "file">;
}

export class UnmockedCallError extends Error {
  constructor(readonly tokens: string[]) {
    super(`unmocked provider call(s): ${tokens.join(", ")}. Mock them in the harness or the test.`);
  }
}

// ---------------------------------------------------------------------------------------------
// URNs, as the engine makes them.

const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

/** The type part of a URN: the resource's type qualified by its ancestors' (`A$B$type`). */
export function qualifiedType(urn: string): string {
  return urn.split("::")[2];
}

/**
 * The URN the engine gives a resource: `urn:pulumi:<stack>::<project>::<type>::<name>`, the type
 * prefixed with its parent's qualified type unless the parent is the root stack (or absent).
 * (Pulumi's MockMonitor prefixes only the last segment of the parent's type.)
 */
export function resourceUrn(stack: string, project: string, parent: string | undefined, type: string, name: string): string {
  const parentType = parent ? qualifiedType(parent) : ROOT_STACK_TYPE;
  const qualified = parentType === ROOT_STACK_TYPE ? type : `${parentType}$${type}`;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/**
 * The URNs a registration's aliases stand for. What an alias spec leaves out is the resource's
 * own: its name, type, stack, project and parent (unless the spec says it had none).
 */
function aliasUrns(req: any, stack: string, project: string): string[] {
  const urns: string[] = req.getAliasesList().map((alias: any) => {
    const spec = alias.getSpec();
    if (!spec) return alias.getUrn();
    const parent = spec.getParenturn() || (spec.getNoparent() ? undefined : req.getParent() || undefined);
    return resourceUrn(
      spec.getStack() || stack,
      spec.getProject() || project,
      parent,
      spec.getType() || req.getType(),
      spec.getName() || req.getName(),
    );
  });
  return [...new Set(urns)];
}

// ---------------------------------------------------------------------------------------------
// Values: the engine's wire form (secrets, assets, resource references) as plain JSON.

/**
 * Converts a property value in its serialized (wire) form to plain JSON. Secrets become
 * "[secret]" unless `reveal`; assets and archives become `{ path }`, `{ text }` or
 * `{ archive: { name: asset } }`; resource references become their id or URN.
 */
export function plainValue(value: unknown, reveal: boolean): any {
  if (value === rpc.unknownValue) return "[unknown]";
  if (Array.isArray(value)) return value.map((v) => plainValue(v, reveal));
  if (typeof value !== "object" || value === null) return value;
  const object = value as Record<string, any>;
  switch (object[rpc.specialSigKey]) {
    case rpc.specialSecretSig:
      return reveal ? plainValue(object.value, reveal) : SECRET_MARK;
    case rpc.specialOutputValueSig:
      if (object.secret && !reveal) return SECRET_MARK;
      return object.value === undefined ? "[unknown]" : plainValue(object.value, reveal);
    case rpc.specialAssetSig:
    case rpc.specialArchiveSig:
      if (object.assets !== undefined) return { archive: plainValue(object.assets, reveal) };
      if (object.path !== undefined) return { path: relativePath(object.path) };
      if (object.text !== undefined) return { text: object.text };
      return { uri: object.uri };
    case rpc.specialResourceSig:
      return object.id ?? object.urn;
  }
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(object)) if (v !== undefined) out[k] = plainValue(v, reveal);
  return out;
}

function relativePath(p: unknown): unknown {
  return typeof p === "string" && path.isAbsolute(p) ? path.relative(REPO_ROOT, p) : p;
}

// ---------------------------------------------------------------------------------------------
// Default mock state: names, ARNs and URLs shaped like the real ones, derived from the URN so
// that they are stable from run to run.

/** The region of an explicit provider the mock is answering for, when there is one. */
let providerRegion: string | undefined;

/** The region a resource or call is in: its explicit provider's, or the stack's `aws:region`. */
function region(): string {
  return providerRegion ?? pulumi.runtime.getConfig("aws:region") ?? "eu-west-2";
}

/** Runs `answer` as the mock of a resource or call made through the provider `ref` (`<urn>::<id>`). */
function withProvider<T>(regions: Map<string, string>, ref: string | undefined, answer: () => T): T {
  providerRegion = ref ? regions.get(ref.slice(ref.lastIndexOf("::") + 2)) : undefined;
  try {
    return answer();
  } finally {
    providerRegion = undefined;
  }
}

/** A placeholder for the canonical user of the old distribution's origin access identity, in an adopted bucket's policy. */
export const MOCK_OAI_CANONICAL_USER = "mock-oai-canonical-user-0123456789abcdef";

/** Fills an original's `{{bucket}}`-style placeholders. */
function fillPlaceholders(value: unknown, names: Record<string, string>): unknown {
  return JSON.parse(JSON.stringify(value ?? null).replace(/\{\{(\w+)\}\}/g, (whole, key: string) => names[key] ?? whole));
}

/**
 * The state an imported resource has after the first `up`: what it declares, and for
 * everything it keeps (or leaves out), the value its original deployment gave it.
 */
function importedState(resource: RecordedResource): Record<string, any> {
  const original = originalOf(resource.type, resource.name)?.resource;
  if (!original) return resource.state;
  const state = { ...resource.state };
  for (const [property, setting] of Object.entries(original.settings)) {
    const declared = resource.inputs[property] !== undefined && !resource.options.ignoreChanges.includes(property);
    if (declared || setting.identity || setting.value === undefined || JSON.stringify(setting.value).includes("$arnOf")) continue;
    if (setting.value === null) delete state[property];
    else state[property] = setting.value;
  }
  return state;
}

function physicalName(args: pulumi.runtime.MockResourceArgs): string {
  const suffix = createHash("sha1").update(`${args.type}::${args.name}`).digest("hex").slice(0, 7);
  return `${args.name}-${suffix}`;
}

type ArnShape = (name: string, r: string, a: string) => Record<string, string>;
const ARN_SHAPES: Record<string, ArnShape | undefined> = {
  "aws:iam/role:Role": (n, _r, a) => ({ arn: `arn:aws:iam::${a}:role/${n}` }),
  "aws:iam/policy:Policy": (n, _r, a) => ({ arn: `arn:aws:iam::${a}:policy/${n}` }),
  "aws:cloudwatch/logGroup:LogGroup": (n, r, a) => ({ arn: `arn:aws:logs:${r}:${a}:log-group:${n}` }),
  "aws:cloudwatch/metricAlarm:MetricAlarm": (n, r, a) => ({ arn: `arn:aws:cloudwatch:${r}:${a}:alarm:${n}` }),
  "aws:lambda/function:Function": (n, r, a) => ({
    arn: `arn:aws:lambda:${r}:${a}:function:${n}`,
    invokeArn: `arn:aws:apigateway:${r}:lambda:path/2015-03-31/functions/arn:aws:lambda:${r}:${a}:function:${n}/invocations`,
  }),
  "aws:sqs/queue:Queue": (n, r, a) => ({ arn: `arn:aws:sqs:${r}:${a}:${n}`, url: `https://sqs.${r}.amazonaws.com/${a}/${n}` }),
  "aws:sns/topic:Topic": (n, r, a) => ({ arn: `arn:aws:sns:${r}:${a}:${n}` }),
  "aws:dynamodb/table:Table": (n, r, a) => ({ arn: `arn:aws:dynamodb:${r}:${a}:table/${n}` }),
  "aws:s3/bucket:Bucket": (n, r) => ({ arn: `arn:aws:s3:::${n}`, bucket: n, bucketRegionalDomainName: `${n}.s3.${r}.amazonaws.com` }),
  "aws:s3/bucketV2:BucketV2": (n) => ({ arn: `arn:aws:s3:::${n}`, bucket: n }),
  "aws:cloudwatch/eventBus:EventBus": (n, r, a) => ({ arn: `arn:aws:events:${r}:${a}:event-bus/${n}` }),
  "aws:cloudwatch/eventRule:EventRule": (n, r, a) => ({ arn: `arn:aws:events:${r}:${a}:rule/${n}` }),
  "aws:cloudwatch/eventArchive:EventArchive": (n, r, a) => ({ arn: `arn:aws:events:${r}:${a}:archive/${n}` }),
  "aws:scheduler/schedule:Schedule": (n, r, a) => ({ arn: `arn:aws:scheduler:${r}:${a}:schedule/default/${n}` }),
  "aws:ssm/parameter:Parameter": (n, r, a) => ({ arn: `arn:aws:ssm:${r}:${a}:parameter${n.startsWith("/") ? "" : "/"}${n}` }),
  "aws:ecr/repository:Repository": (n, r, a) => ({
    arn: `arn:aws:ecr:${r}:${a}:repository/${n}`,
    repositoryUrl: `${a}.dkr.ecr.${r}.amazonaws.com/${n}`,
  }),
  "aws:apigatewayv2/api:Api": (n, r, a) => ({
    arn: `arn:aws:apigateway:${r}::/apis/${n}`,
    apiEndpoint: `https://${n}.execute-api.${r}.amazonaws.com`,
    executionArn: `arn:aws:execute-api:${r}:${a}:${n}`,
  }),
  "aws:cognito/userPool:UserPool": (n, r, a) => ({
    arn: `arn:aws:cognito-idp:${r}:${a}:userpool/${r}_${n}`,
    endpoint: `cognito-idp.${r}.amazonaws.com/${r}_${n}`,
  }),
  "aws:cloudfront/distribution:Distribution": (n, _r, a) => ({
    arn: `arn:aws:cloudfront::${a}:distribution/${n}`,
    domainName: `${n}.cloudfront.net`,
  }),
  "aws:kms/key:Key": (n, r, a) => ({ arn: `arn:aws:kms:${r}:${a}:key/${n}` }),
  "aws:acm/certificate:Certificate": (n, r, a) => ({ arn: `arn:aws:acm:${r}:${a}:certificate/${n}` }),
};

/** Outputs AWS computes from a resource's inputs, shaped like the real ones. */
const COMPUTED_STATE: Record<string, ((inputs: Record<string, any>) => Record<string, unknown>) | undefined> = {
  // One CNAME per name to validate the certificate by DNS.
  "aws:acm/certificate:Certificate": (inputs) => ({
    domainValidationOptions: [inputs.domainName, ...(inputs.subjectAlternativeNames ?? [])].map((name: string) => ({
      domainName: name,
      resourceRecordName: `_${createHash("sha1").update(name).digest("hex").slice(0, 12)}.${name.replace(/^\*\./, "")}.`,
      resourceRecordType: "CNAME",
      resourceRecordValue: `_${createHash("sha1").update(`value:${name}`).digest("hex").slice(0, 12)}.acm-validations.aws.`,
    })),
  }),
  "aws:route53/record:Record": (inputs) => ({ fqdn: String(inputs.name).replace(/\.$/, "") }),
};

/** A 24-hex id (the shape of Atlas object ids) derived from a name. */
function hexId(name: string): string {
  return createHash("sha1").update(name).digest("hex").slice(0, 24);
}

/** Outputs of non-AWS resources that programs read, shaped like the real ones. */
const PROVIDER_STATE: Record<string, ((name: string) => Record<string, string>) | undefined> = {
  "mongodbatlas:index/eventTrigger:EventTrigger": (n) => ({ triggerId: hexId(`trigger:${n}`) }),
  "auth0:index/client:Client": (n) => ({ clientId: `mockclientid${hexId(n).slice(0, 20)}` }),
  // The provider marks this output secret; a placeholder shows where it ends up.
  "auth0:index/clientCredentials:ClientCredentials": (n) => ({ clientSecret: `${SECRET_PLACEHOLDER_PREFIX}${n}` }),
  // awsx's image is a remote component: its build runs in the awsx provider, never here.
  "awsx:ecr:Image": (n) => ({
    imageUri: `${MOCK_ACCOUNT_ID}.dkr.ecr.eu-west-2.amazonaws.com/${n}@sha256:${createHash("sha256").update(n).digest("hex")}`,
  }),
  // The one dynamic resource of the program: the Atlas App Services app.
  "pulumi-nodejs:dynamic/atlas:AppServicesApp": (n) => ({
    appId: hexId(`app:${n}`),
    clientAppId: `${n}-mockid`,
    clusterServiceId: hexId(`service:${n}`),
  }),
};

/**
 * The state of an adopted resource that its import id gives: the existing topic's ARN, the
 * existing queue's URL (and ARN), the existing bucket's name.
 */
const IMPORTED_STATE: Record<string, ((id: string) => Record<string, string>) | undefined> = {
  "aws:sns/topic:Topic": (arn) => ({ arn }),
  "aws:sqs/queue:Queue": (url) => {
    const [, , host, account, name] = url.split("/");
    return { url, arn: `arn:aws:sqs:${host.split(".")[1]}:${account}:${name}` };
  },
  "aws:s3/bucket:Bucket": (bucket) => ({
    bucket,
    arn: `arn:aws:s3:::${bucket}`,
    bucketRegionalDomainName: `${bucket}.s3.${region()}.amazonaws.com`,
  }),
  // `<projectId>--<appId>--<triggerId>`
  "mongodbatlas:index/eventTrigger:EventTrigger": (id) => ({ triggerId: id.split("--")[2] }),
};

function defaultState(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
  const imported = args.id ? IMPORTED_STATE[args.type]?.(args.id) : undefined;
  if (imported) {
    const base = defaultState({ ...args, id: undefined as unknown as string });
    return { id: args.id!, state: { ...base.state, ...imported } };
  }
  const inputs = args.inputs ?? {};
  const physical = typeof inputs.name === "string" ? inputs.name : physicalName(args);
  const provider = PROVIDER_STATE[args.type];
  if (provider || !args.type.startsWith("aws:")) {
    return { id: args.id || `${physical}-id`, state: { ...inputs, ...provider?.(args.name) } };
  }
  const shape = ARN_SHAPES[args.type];
  const service = args.type.split(":")[1]?.split("/")[0] ?? "unknown";
  const arn = shape ? {} : { arn: `arn:aws:${service}:${region()}:${MOCK_ACCOUNT_ID}:${physical}` };
  return {
    id: args.id || `${physical}-id`,
    state: {
      ...inputs,
      name: physical,
      ...arn,
      ...(shape ? shape(physical, region(), MOCK_ACCOUNT_ID) : {}),
      ...COMPUTED_STATE[args.type]?.(inputs),
    },
  };
}

const GET_BUCKET_POLICY = "aws:s3/getBucketPolicy:getBucketPolicy";

const DEFAULT_CALLS: Record<string, CallMock> = {
  "aws:index/getCallerIdentity:getCallerIdentity": () => ({
    accountId: MOCK_ACCOUNT_ID,
    arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/preview`,
    userId: "AIDAPREVIEW",
    id: MOCK_ACCOUNT_ID,
  }),
  "aws:index/getRegion:getRegion": () => ({ name: region(), region: region(), id: region() }),
  "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" }),
  "aws:cloudwatch/getEventBus:getEventBus": (inputs) => ({
    name: inputs.name,
    arn: `arn:aws:events:${region()}:${MOCK_ACCOUNT_ID}:event-bus/${inputs.name}`,
    id: inputs.name,
  }),
};

// ---------------------------------------------------------------------------------------------
// Stack config.

/** The stacks that have a settings file. */
export function knownStacks(): string[] {
  return fs
    .readdirSync(REPO_ROOT)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** A settings file that cannot be used: missing, unreadable, or not valid YAML. The message names the file. */
export class SettingsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettingsFileError";
  }
}

/** A path as a user would recognise it: relative to the working directory when it is inside it. */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file;
}

const READ_FAILURES: Record<string, string> = {
  ENOENT: "there is no such file",
  EISDIR: "it is a directory, not a file",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOTDIR: "a folder in its path is a file",
};

/**
 * The `config:` map of a settings file and the Pulumi ESC environments it imports; every
 * failure names the file, and a YAML error its line and column.
 */
function readSettingsFile(file: string): { config: Record<string, unknown>; environments: string[] } {
  const shown = shownPath(file);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    throw new SettingsFileError(`cannot read the settings file ${shown}: ${READ_FAILURES[code] ?? (err as Error).message}`);
  }
  let settings: unknown;
  try {
    settings = parseYaml(text);
  } catch (err) {
    if (!(err instanceof YAMLParseError)) throw err;
    const at = err.linePos?.[0];
    // The parser's message ends with "at line L, column C:" and a snippet of the lines around it.
    const [reason, snippet = ""] = err.message.split(/ at line \d+, column \d+:\n/);
    const excerpt = snippet
      .replace(/^\n+|\n+$/g, "")
      .split("\n")
      .map((line) => `    ${line}`)
      .join("\n");
    throw new SettingsFileError(`${shown}${at ? `:${at.line}:${at.col}` : ""}: not valid YAML: ${reason}${excerpt ? `\n${excerpt}` : ""}`);
  }
  if (settings === null || settings === undefined) return { config: {}, environments: [] };
  const { config, environment } = settings as { config?: unknown; environment?: unknown };
  if (
    typeof settings !== "object" ||
    Array.isArray(settings) ||
    (config !== undefined && (typeof config !== "object" || config === null || Array.isArray(config)))
  ) {
    throw new SettingsFileError(`${shown}: not a stack settings file: its keys go under a \`config:\` mapping, as in Pulumi.dev.yaml`);
  }
  // `environment:` is a list of names, or (newer CLIs) `imports:` with that list.
  const imports = Array.isArray(environment) ? environment : (environment as { imports?: unknown } | undefined)?.imports;
  const environments = Array.isArray(imports)
    ? imports.map((e) => (typeof e === "string" ? e : JSON.stringify(e)))
    : environment
      ? [String(environment)]
      : [];
  return { config: (config ?? {}) as Record<string, unknown>, environments };
}

/** A secret the stack's enabled apps need that its settings file does not hold: the preview ran with a placeholder. */
export interface MissingSecret {
  /** Full config key, `namespace:name`. */
  key: string;
  app: string;
  description: string;
  /** The command that stores it, encrypted. */
  command: string;
}

export interface StackConfig {
  config: Record<string, string>;
  secretKeys: string[];
  /** The needed secrets that got a placeholder because the file does not have them. */
  missingSecrets: MissingSecret[];
  /** The Pulumi ESC environments the file imports, which may give those secrets. */
  environments: string[];
  /** The settings file read. */
  file: string;
}

/**
 * Reads `Pulumi.<stack>.yaml` (or `settingsFile`) as Pulumi hands config to a program.
 * Encrypted values and the secrets that the enabled apps declare (see SECRETS in config.ts)
 * get placeholder values.
 */
export function loadStackConfig(stack: string, settingsFile?: string): StackConfig {
  const file = settingsFile ?? stackSettingsFile(stack);
  if (settingsFile === undefined && !fs.existsSync(file)) {
    throw new SettingsFileError(
      `unknown stack "${stack}": there is no ${path.relative(REPO_ROOT, file)} (known stacks: ${knownStacks().join(", ")})`,
    );
  }
  const settings = readSettingsFile(file);
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(settings.config)) {
    if (typeof value === "object" && value !== null && "secure" in value) {
      config[key] = `${SECRET_PLACEHOLDER_PREFIX}${key}`;
      secretKeys.push(key);
    } else {
      config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  // Only the app blocks decide which secrets are needed; a broken block is reported later by
  // the program itself, with the full message.
  const projectValues: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith(`${PROJECT}:`)) projectValues[key.slice(PROJECT.length + 1)] = value;
  }
  let declared: SecretDeclaration[] = [];
  try {
    // Optional secrets stay unset, as on a stack that does not use them.
    declared = requiredSecrets(parseConfigValues(stack, projectValues)).filter((s) => !s.optional);
  } catch {
    declared = [];
  }
  const missingSecrets: MissingSecret[] = [];
  for (const secret of declared) {
    if (config[secret.key] !== undefined) continue;
    config[secret.key] = `${SECRET_PLACEHOLDER_PREFIX}${secret.key}`;
    secretKeys.push(secret.key);
    missingSecrets.push({
      key: secret.key,
      app: secret.app,
      description: secret.description,
      command: secretSetCommand(stack, secret.key),
    });
  }
  return { config, secretKeys, missingSecrets, environments: settings.environments, file };
}

// ---------------------------------------------------------------------------------------------
// Running a program.

type Callback = (err: any, response: any) => void;

/** Runs `program` as the body of a stack under the mock engine and records what it registers. */
export async function runProgram(program: () => unknown, options: RunOptions): Promise<RunResult> {
  const resources: RecordedResource[] = [];
  const calls: RecordedCall[] = [];
  const unmocked: string[] = [];
  const callMocks = { ...DEFAULT_CALLS, ...options.calls };
  const stateMocks = options.states ?? {};
  const stackOutputs: { value?: any } = {};
  const providerRegions = new Map<string, string>();
  /** S3's answer for an adopted bucket's policy: its original's, as its template wrote it. */
  const adoptedBucketPolicy = async (inputs: Record<string, any>) => {
    // The program asks right after registering the bucket, whose registration may not have been recorded yet.
    let bucket: RecordedResource | undefined;
    for (let wait = 0; wait < 100 && !bucket; wait++) {
      bucket = resources.find((r) => r.type === "aws:s3/bucket:Bucket" && r.options.import === inputs.bucket);
      if (!bucket) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const policy = bucket && originalOf(bucket.type, bucket.name)?.resource.attachments?.["aws:s3/bucketPolicy:BucketPolicy"]?.value;
    if (!policy) throw new Error(`NoSuchBucketPolicy: the bucket ${inputs.bucket} has no policy`);
    return {
      bucket: inputs.bucket,
      id: inputs.bucket,
      policy: JSON.stringify(fillPlaceholders(policy, { bucket: inputs.bucket, oaiCanonicalUserId: MOCK_OAI_CANONICAL_USER })),
    };
  };

  pulumi.runtime.setAllConfig(options.config ?? {}, options.secretKeys ?? []);

  const mocks: pulumi.runtime.Mocks = {
    newResource(args) {
      // Components (and remote components such as awsx's) have only the state a test gives them.
      if (!args.custom) return { id: undefined, state: { ...PROVIDER_STATE[args.type]?.(args.name), ...stateMocks[args.type]?.(args) } };
      return withProvider(providerRegions, args.provider, () => {
        const base = defaultState(args);
        if (args.type === "pulumi:providers:aws" && typeof args.inputs?.region === "string")
          providerRegions.set(base.id, args.inputs.region);
        const extra = stateMocks[args.type]?.(args) ?? {};
        return { id: base.id, state: { ...base.state, ...extra } };
      });
    },
    call(args) {
      const mock: ((inputs: Record<string, any>) => Record<string, any> | Promise<Record<string, any>>) | undefined =
        callMocks[args.token] ?? (args.token === GET_BUCKET_POLICY ? adoptedBucketPolicy : undefined);
      calls.push({ token: args.token, inputs: args.inputs });
      if (!mock) {
        unmocked.push(args.token);
        throw new Error(`unmocked provider call: ${args.token}`);
      }
      // The engine hands a program a failed call's `details` as the error's message, as a provider's answer.
      const failed = (err: unknown) => {
        throw Object.assign(err instanceof Error ? err : new Error(String(err)), {
          details: err instanceof Error ? err.message : String(err),
        });
      };
      try {
        const answer = withProvider(providerRegions, args.provider, () => mock(args.inputs));
        return (answer instanceof Promise ? answer.catch(failed) : answer) as Record<string, any>;
      } catch (err) {
        return failed(err);
      }
    },
  };

  const monitor = new MockMonitor(mocks);
  (monitor as unknown as { newUrn: (parent: string, type: string, name: string) => string }).newUrn = (parent, type, name) =>
    resourceUrn(options.stack, PROJECT, parent || undefined, type, name);
  const record = (req: any, properties: any, urn: string, read: boolean) => {
    const inputs = properties.toJavaScript();
    const entry = monitor.resources.get(urn);
    const resource: RecordedResource = {
      urn,
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent() || undefined,
      inputs: plainValue(inputs, false),
      rawInputs: plainValue(inputs, true),
      id: entry?.id ?? undefined,
      state: entry ? plainValue(entry.state, false) : {},
      read,
      options: read
        ? { protect: false, retainOnDelete: false, ignoreChanges: [], aliases: [] }
        : {
            import: req.getImportid() || undefined,
            protect: Boolean(req.getProtect()),
            retainOnDelete: Boolean(req.getRetainondelete()),
            ignoreChanges: req.getIgnorechangesList(),
            aliases: aliasUrns(req, options.stack, PROJECT),
          },
      outputs: {},
    };
    if (resource.options.import) resource.state = importedState(resource);
    resources.push(resource);
  };
  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: Callback) =>
    registerResource(req, (err: any, response: any) => {
      if (!err) record(req, req.getObject(), response.getUrn(), false);
      callback(err, response);
    });
  const readResource = monitor.readResource.bind(monitor);
  monitor.readResource = (req: any, callback: Callback) =>
    readResource(req, (err: any, response: any) => {
      if (!err) record(req, req.getProperties(), response.getUrn(), true);
      callback(err, response);
    });
  const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req: any, callback: Callback) => {
    const outputs = plainValue(req.getOutputs()?.toJavaScript() ?? {}, false);
    if (req.getUrn().includes("::pulumi:pulumi:Stack::")) stackOutputs.value = outputs;
    const resource = resources.find((r) => r.urn === req.getUrn());
    if (resource) resource.outputs = outputs;
    registerResourceOutputs(req, callback);
  };

  pulumi.runtime.setMockOptions(monitor, PROJECT, options.stack, options.preview ?? false);
  // The SDK keeps a stack trace of every promise it makes (to report leaked ones), and with
  // source maps on (tsx turns them on) each costs a source-map lookup per frame: half of a
  // run's time. Off during the run, errors thrown in it show transpiled line numbers.
  const sourceMaps = process.sourceMapsEnabled;
  process.setSourceMapsEnabled(false);
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      const exported = await program();
      // Module exports become stack outputs; a program that returns a resource exports nothing.
      return pulumi.Resource.isInstance(exported) ? undefined : (exported as Record<string, unknown> | undefined);
    });
    await waitForRegistrations();
  } finally {
    process.setSourceMapsEnabled(sourceMaps);
  }
  if (unmocked.length > 0) throw new UnmockedCallError([...new Set(unmocked)]);
  return { stack: options.stack, resources, calls, outputs: stackOutputs.value ?? {}, config: options.config ?? {} };
}

/** Waits until the SDK's queue of engine calls has drained, so that every registration has resolved. */
async function waitForRegistrations(): Promise<void> {
  const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
  if (runtime.waitForRPCs) await runtime.waitForRPCs();
}

export interface StackRunOptions extends Omit<RunOptions, "stack" | "config" | "secretKeys"> {
  /** A settings file to use instead of Pulumi.<stack>.yaml. */
  settingsFile?: string;
}

/** Runs `index.ts` for a stack with its real config, as `pulumi up` would (under mocks). */
export async function runStack(stack: string, options: StackRunOptions = {}): Promise<RunResult> {
  const { config, secretKeys, missingSecrets, environments, file } = loadStackConfig(stack, options.settingsFile);
  const run = await runProgram(
    () => {
      // index.ts runs its program when it is loaded, so each run loads it afresh.
      delete require.cache[require.resolve(PROGRAM_FILE)];
      return require(PROGRAM_FILE);
    },
    { ...options, stack, config, secretKeys },
  );
  return { ...run, settings: { missingSecrets, environments, file } };
}

const stackRuns = new Map<string, Promise<RunResult>>();

/**
 * A stack's run with its own settings file, made once per test process and shared by the
 * test files that only read it (runs are never changed after they finish).
 */
export function stackRun(stack: string): Promise<RunResult> {
  let run = stackRuns.get(stack);
  if (!run) {
    run = runStack(stack);
    stackRuns.set(stack, run);
  }
  return run;
}

// ---------------------------------------------------------------------------------------------
// Queries on a run.

export function ofType(run: RunResult, type: string): RecordedResource[] {
  return run.resources.filter((r) => r.type === type && !r.read);
}

/** The one resource of `type` whose logical name is `name`; fails when there is none. */
export function named(run: RunResult, type: string, name: string): RecordedResource {
  const found = run.resources.find((r) => r.type === type && r.name === name);
  if (!found) {
    const names = ofType(run, type).map((r) => r.name);
    throw new Error(`no ${type} named "${name}" (there are: ${names.join(", ") || "none"})`);
  }
  return found;
}

/** The children of a resource (direct, or at any depth with `deep`). */
export function childrenOf(run: RunResult, parent: RecordedResource, deep = false): RecordedResource[] {
  const direct = run.resources.filter((r) => r.parent === parent.urn);
  return deep ? direct.flatMap((c) => [c, ...childrenOf(run, c, true)]) : direct;
}

/** Places where a placeholder secret shows in clear in recorded inputs or outputs. */
export function findSecretLeaks(run: RunResult): string[] {
  const leaks: string[] = [];
  const walk = (value: unknown, where: string) => {
    if (typeof value === "string" && value.includes(SECRET_PLACEHOLDER_PREFIX)) leaks.push(where);
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${where}[${i}]`));
    else if (typeof value === "object" && value !== null) {
      for (const [k, v] of Object.entries(value)) walk(v, `${where}.${k}`);
    }
  };
  for (const r of run.resources) walk(r.inputs, `${r.type}::${r.name}`);
  walk(run.outputs, "outputs");
  return leaks;
}

/** Parses a recorded JSON policy document (IAM, queue or topic policy). */
export function policyOf(resource: RecordedResource, field = "policy"): { Statement: any[] } {
  const raw = resource.rawInputs[field];
  return typeof raw === "string" ? JSON.parse(raw) : raw;
}

/** The cloud resources of a run as the policy rules see them: their properties, secrets shown as "[secret]". */
export function policyResources(run: RunResult): PolicyResource[] {
  return run.resources
    .filter((r) => !r.read && !r.type.startsWith("tributary:") && r.type !== "pulumi:pulumi:Stack" && r.type !== "awsx:ecr:Image")
    .map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: { ...r.state, id: r.id }, ignoreChanges: r.options.ignoreChanges }));
}
