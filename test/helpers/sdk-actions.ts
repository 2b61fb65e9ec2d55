/**
 * Ties a handler's AWS SDK calls to its function's role: run the handler against local
 * servers, record the IAM action of every command any SDK client sends (a middleware on each
 * client that sends), and compare with the Allow statements the mock engine recorded for the
 * function's role. The unit tests never see IAM; this catches a call the role does not grant.
 */
import * as path from "node:path";
import { Client } from "@smithy/core/client";
import type { MiddlewareStack } from "@smithy/types";
import { handlerEntry } from "../../components/lambda/bundle";
import { AwsJsonClient } from "../../handlers/lib/aws-json";
import { named, policyOf, type RunResult } from "../../tooling/mock-engine";
import { setEnv } from "../../tooling/local/aws";
import { REPO_ROOT } from "../../paths";

/** The IAM service prefix of each SDK client. */
const SERVICE_PREFIXES: Record<string, string> = {
  DynamoDBClient: "dynamodb",
  S3Client: "s3",
  SQSClient: "sqs",
  SNSClient: "sns",
  EventBridgeClient: "events",
  SSMClient: "ssm",
  ECSClient: "ecs",
};

/** Operations whose IAM action is named otherwise. */
const RENAMED_ACTIONS: Record<string, string> = {
  "s3:ListObjectsV2": "s3:ListBucket",
  "s3:HeadObject": "s3:GetObject",
  "s3:HeadBucket": "s3:ListBucket",
};

/** `DynamoDBClient` + `GetItemCommand` → `dynamodb:GetItem`. An unknown client fails, naming it. */
export function iamActionOf(clientName: string, commandName: string): string {
  const prefix = SERVICE_PREFIXES[clientName];
  if (!prefix) throw new Error(`no IAM service prefix known for ${clientName}: add it to SERVICE_PREFIXES in test/helpers/sdk-actions.ts`);
  const action = `${prefix}:${commandName.replace(/Command$/, "")}`;
  return RENAMED_ACTIONS[action] ?? action;
}

const RECORDER = "tributaryRecordIamAction";
let recording = false;

/**
 * Runs `body` and returns the IAM actions of every command an SDK client sent meanwhile,
 * however the client was made (module-scope clients of handler entries included). The
 * lib-dynamodb document client shares its client's middleware, so `GetCommand` is recorded
 * as the `GetItemCommand` it sends. AwsJsonClient (DynamoDB, SQS) sends without the SDK's
 * middleware: its operations are recorded as it sends them, by the service's signing name.
 */
export async function recordSdkActions(body: () => Promise<unknown>): Promise<string[]> {
  if (recording) throw new Error("recordSdkActions does not nest");
  recording = true;
  const actions = new Set<string>();
  const stacks: MiddlewareStack<any, any>[] = [];
  const send = Client.prototype.send;
  Client.prototype.send = function (this: Client<any, any, any, any>, ...args: any[]) {
    if (!stacks.includes(this.middlewareStack)) {
      this.middlewareStack.add(
        (next, context) => (input) => {
          actions.add(iamActionOf(String(context.clientName), String(context.commandName)));
          return next(input);
        },
        { step: "initialize", name: RECORDER, priority: "high" },
      );
      stacks.push(this.middlewareStack);
    }
    return (send as (...a: any[]) => any).apply(this, args);
  } as typeof send;
  const call = AwsJsonClient.prototype.call;
  AwsJsonClient.prototype.call = function (this: AwsJsonClient, operation: string, ...rest: [Record<string, any>, URL?]) {
    actions.add(`${this.service.signingName}:${operation}`);
    return call.call(this, operation, ...rest);
  } as typeof call;
  try {
    await body();
  } finally {
    Client.prototype.send = send;
    AwsJsonClient.prototype.call = call;
    for (const stack of stacks) stack.remove(RECORDER);
    recording = false;
  }
  return [...actions].sort();
}

type Handler = (event: unknown) => Promise<unknown>;

/**
 * Imports a function's entry (`handlers/<app>/functions/<handler>.ts`) with `env` set, as its
 * function is deployed, calls it with each event in turn, and returns the IAM actions of its
 * SDK calls. The entry is imported once per process: its module-scope clients keep the
 * environment of the first import.
 */
export async function actionsOfHandler(handler: string, env: Record<string, string>, events: unknown[]): Promise<string[]> {
  const restore = setEnv(env);
  try {
    return await recordSdkActions(async () => {
      const entry = (await import(path.join(REPO_ROOT, handlerEntry(handler)))) as { handler: Handler };
      for (const event of events) await entry.handler(event);
    });
  } finally {
    restore();
  }
}

/** The environment the mock engine recorded for a function (NodeFunction `name`), values in clear. */
export function environmentOf(run: RunResult, name: string): Record<string, string> {
  return named(run, "aws:lambda/function:Function", name).rawInputs.environment?.variables ?? {};
}

function matches(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
    "i",
  );
  return regex.test(action);
}

/** The actions that no Allow statement of the function's role policy grants (wildcards understood). */
export function ungrantedActions(run: RunResult, name: string, actions: string[]): string[] {
  const statements = policyOf(named(run, "aws:iam/rolePolicy:RolePolicy", `${name}-policy`)).Statement;
  const allowed = statements.filter((s) => s.Effect === "Allow").flatMap((s) => [s.Action].flat() as string[]);
  return actions.filter((action) => !allowed.some((pattern) => matches(pattern, action)));
}
