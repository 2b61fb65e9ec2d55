/**
 * Bundles and cold starts of the functions a stack deploys, read from its components: which
 * handler each NodeFunction bundles and whether it loads the runtime's AWS SDK.
 *
 * A cold start is a fresh `node` process that loads the deployed bundle and runs its first
 * invocation against the app's local stand-ins (`npm run local`): credentials, endpoint
 * resolution and the first connection included. Each is timed in pairs with bare `node -e 0`,
 * alternating which runs first, and reported as the median per-pair ratio with its spread.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { BUNDLE_FILE, BUILD_DIR, REPO_ROOT } from "../../components/lambda/bundle";
import { ofType, type RunResult } from "../../tooling/mock-engine";
import { queuedSnsEvent, webhookBody } from "../events/wrap";
import { type LocalApp, LOCAL_APPS } from "../local";
import { kb, median, ms, ratioWithSpread, timeCommand, timePairs } from "./stats";

/** Pairs per measurement: enough for a median and quartiles that hold still. */
export const PAIRS = 21;
/** The goal for a zip function's first invocation, against bare node. */
export const FIRST_INVOCATION_GOAL = 1.8;
/** The goal for a zip bundle's size. */
export const ZIP_GOAL_BYTES = 300 * 1024;

export interface DeployedFunction {
  handler: string;
  /** The app component it belongs to (`alma`, `lessons`, ...). */
  app: string;
  runtimeAwsSdk: boolean;
  file: string;
  bytes: number;
}

/** The zip functions of a stack run, as their NodeFunction components recorded them. */
export function deployedFunctions(run: RunResult): DeployedFunction[] {
  const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
  const appOf = (urn: string | undefined): string => {
    const resource = urn ? byUrn.get(urn) : undefined;
    if (!resource) return "?";
    const [, app, type] = resource.type.split(":");
    return resource.type.startsWith("tributary:") && !["lambda", "events", "http"].includes(app) && type ? app : appOf(resource.parent);
  };
  const functions = ofType(run, "tributary:lambda:NodeFunction").map((r) => {
    const { handler, runtimeAwsSdk, sha256, bytes } = r.outputs.bundle as { handler: string; runtimeAwsSdk: boolean; sha256: string; bytes: number };
    return { handler, app: appOf(r.parent), runtimeAwsSdk, file: path.join(BUILD_DIR, "bundles", sha256, BUNDLE_FILE), bytes };
  });
  // One row per handler: functions with the same source share a bundle.
  return [...new Map(functions.map((f) => [f.handler, f])).values()].sort((a, b) => a.handler.localeCompare(b.handler));
}

const payload = (file: string) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "test", "fixtures", "payloads", file), "utf8"));
/**
 * An Alma delivery as a cache function's queue hands it over (an SQS record of its SNS
 * notification). The captured request events have no user; they get one. They date from
 * 2018, older than a tombstone lives: they happen now, so that the first invocation writes.
 */
const almaQueued = (file: string) => () => {
  const message = JSON.parse(webhookBody(payload(`alma-webhook/${file}`)));
  message.time = new Date().toISOString();
  if (message.user_request) message.user_request.user_primary_id ??= "LBAAJH";
  return queuedSnsEvent([JSON.stringify(message)]);
};

/** Each function's first event: real payloads where the repository has them. */
const FIRST_EVENTS: Record<string, () => unknown> = {
  "alma-loan-updated": almaQueued("loan_created_event.json"),
  "alma-loan-returned": almaQueued("loan_returned_event.json"),
  "alma-request-updated": almaQueued("request_created_event.json"),
  "alma-request-closed": almaQueued("request_closed_event.json"),
  "alma-webhook": () => payload("alma-webhook/loan_created_event.json"),
  "hdoc-get-user": () => ({ version: "2.0", rawPath: "/user", queryStringParameters: { username: "ada" } }),
  "hdoc-get-users": () => ({ version: "2.0", rawPath: "/users", queryStringParameters: { limit: "2" } }),
  "lesson-completed": () => payload("atlas-trigger/user_update_event.json"),
};

/**
 * The environment of apps that have no stand-in here, so that their bundles load: iota's
 * MongoDB (nothing listens there; only loading is timed).
 */
const LOAD_ONLY_ENV: Record<string, Record<string, string>> = {
  iota: { MILL_IOTA_MONGO_URI: "mongodb://127.0.0.1:9/bench", MILL_IOTA_MONGO_DB: "bench", MILL_IOTA_SERVICE_ID: "bench", MILL_IOTA_AWS_REGION: "eu-west-2" },
};

/** Loads the bundle and, given an event file, runs one invocation with a Lambda-like context; a 5xx answer, or a failed record of a batch, fails. */
const RUNNER = `
const { handler } = require(process.env.BENCH_BUNDLE);
if (!process.env.BENCH_EVENT) process.exit(0);
const event = JSON.parse(require("fs").readFileSync(process.env.BENCH_EVENT, "utf8"));
const deadline = Date.now() + 30000;
const context = { awsRequestId: "00000000-0000-4000-8000-000000000000", functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:eu-west-2:000000000000:function:bench", memoryLimitInMB: "256", getRemainingTimeInMillis: () => deadline - Date.now() };
Promise.resolve(handler(event, context)).then(
  (result) => process.exit(result && (result.statusCode >= 500 || (result.batchItemFailures || []).length > 0) ? 2 : 0),
  (err) => { console.error(err); process.exit(1); });
`;

export interface ColdStart {
  fn: DeployedFunction;
  gzipBytes: number;
  /** Undefined when the function has no local stand-in here (iota needs MongoDB). */
  firstInvocation?: { median: number; baseline: number; ratios: number[] };
  loadOnly: { median: number; baseline: number; ratios: number[] };
}

/** Times every zip function of the run: load only, and load plus first invocation. */
export async function coldStarts(run: RunResult): Promise<ColdStart[]> {
  const functions = deployedFunctions(run);
  const apps = new Map<string, LocalApp>();
  for (const app of new Set(functions.map((f) => f.app))) {
    const start = LOCAL_APPS[app];
    if (start) apps.set(app, await start({ quiet: true }));
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-events-"));
  try {
    const node = process.execPath;
    const bare = () => timeCommand(node, ["-e", "0"]);
    const results: ColdStart[] = [];
    for (const fn of functions) {
      const env = {
        ...process.env,
        ...(apps.get(fn.app)?.env ?? LOAD_ONLY_ENV[fn.app]),
        POWERTOOLS_LOG_LEVEL: "INFO",
        POWERTOOLS_SERVICE_NAME: fn.handler,
        AWS_LAMBDA_FUNCTION_NAME: fn.handler,
        AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
        BENCH_BUNDLE: fn.file,
      };
      const load = await timePairs(PAIRS, () => timeCommand(node, ["-e", RUNNER], { env }), bare);
      const event = apps.has(fn.app) ? FIRST_EVENTS[fn.handler] : undefined;
      let firstInvocation: ColdStart["firstInvocation"];
      if (event) {
        const eventFile = path.join(dir, `${fn.handler}.json`);
        fs.writeFileSync(eventFile, JSON.stringify(event()));
        const first = await timePairs(PAIRS, () => timeCommand(node, ["-e", RUNNER], { env: { ...env, BENCH_EVENT: eventFile } }), bare);
        firstInvocation = { median: median(first.subject), baseline: median(first.baseline), ratios: first.ratios };
      }
      results.push({
        fn,
        gzipBytes: gzipSync(fs.readFileSync(fn.file)).byteLength,
        firstInvocation,
        loadOnly: { median: median(load.subject), baseline: median(load.baseline), ratios: load.ratios },
      });
    }
    return results;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const app of apps.values()) await app.close();
  }
}

/** The markdown section. */
export function coldStartSection(results: ColdStart[]): string[] {
  const lines = [
    "## Zip bundles and cold starts",
    "",
    `Each function as prod deploys it (its NodeFunction's bundle). Cold start: a fresh \`node\` that loads the bundle and runs one invocation against the app's local stand-ins (\`npm run local\`), against bare \`node -e 0\`, in ${PAIRS} alternated pairs; the ratio is the median of the per-pair ratios, with the interquartile range. Load only: the same without the invocation. Goals: ≤ ${kb(ZIP_GOAL_BYTES)} and a first invocation ≤ ${FIRST_INVOCATION_GOAL}×.`,
    "",
    "| function | SDK | minified | gzip | cold start | node -e 0 | ratio (IQR) | load only, ratio (IQR) | first invocation adds |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    const first = r.firstInvocation;
    lines.push(
      `| ${r.fn.handler} | ${r.fn.runtimeAwsSdk ? "runtime's" : "bundled"} | ${kb(r.fn.bytes)} | ${kb(r.gzipBytes)} | ${first ? ms(first.median) : "–"} | ${first ? ms(first.baseline) : ms(r.loadOnly.baseline)} | ${first ? ratioWithSpread(first.ratios) : "– (needs MongoDB)"} | ${ratioWithSpread(r.loadOnly.ratios)} | ${first ? ms(first.median - r.loadOnly.median) : "–"} |`,
    );
  }
  const measured = results.filter((r) => r.firstInvocation);
  const overSize = results.filter((r) => r.fn.bytes > ZIP_GOAL_BYTES).map((r) => `${r.fn.handler} (${kb(r.fn.bytes)})`);
  const overTime = measured.filter((r) => median(r.firstInvocation!.ratios) > FIRST_INVOCATION_GOAL).map((r) => `${r.fn.handler} (${median(r.firstInvocation!.ratios).toFixed(2)}×)`);
  lines.push(
    "",
    `Over ${kb(ZIP_GOAL_BYTES)}: ${overSize.join(", ") || "none"}. First invocation over ${FIRST_INVOCATION_GOAL}×: ${overTime.join(", ") || "none"} (of ${measured.length} measured).`,
    "",
  );
  return lines;
}
