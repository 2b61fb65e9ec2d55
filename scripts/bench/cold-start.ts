/**
 * Bundles and cold starts of the functions a stack deploys, read from its components: which
 * handler each NodeFunction bundles and whether it loads the runtime's AWS SDK.
 *
 * A cold start is a fresh `node` process that loads the deployed bundle and runs its first
 * invocation against the app's local stand-ins (`npm run local`): credentials, endpoint
 * resolution, the first connection and the secrets read through the Parameters and Secrets
 * extension's API (the SSM stand-in serves it) included. Each is timed in pairs with the
 * floor, a bare `node -e` that only prints its CPU time, alternating which runs first, and
 * reported as medians with their interquartile range: wall time, and the CPU time each
 * process reports, which moves far less when other work shares the machine.
 *
 *   npm run bench -- --cold-start     only this section (printed, not saved)
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { BUNDLE_FILE } from "../../components/lambda/bundle";
import { ofType, type RunResult } from "../../tooling/mock-engine";
import { queuedSnsEvent, webhookBody } from "../events/wrap";
import { type LocalApp, LOCAL_APPS } from "../local";
import { kb, median, msWithSpread, ratioWithSpread, type TimedRun, timeRun, timeRunPairs } from "./stats";
import { BUILD_DIR, PAYLOADS_DIR } from "../../paths";

/** Pairs per measurement: enough for a median and quartiles that hold still. */
export const PAIRS = 21;
/** The goal for loading a bundle alone, against the floor (wall time). */
export const LOAD_GOAL = 2;
/** The goal for a zip bundle's size (test/infra/bundle-budget.test.ts enforces it). */
export const ZIP_GOAL_BYTES = 250 * 1024;

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
    const { handler, runtimeAwsSdk, sha256, bytes } = r.outputs.bundle as {
      handler: string;
      runtimeAwsSdk: boolean;
      sha256: string;
      bytes: number;
    };
    return { handler, app: appOf(r.parent), runtimeAwsSdk, file: path.join(BUILD_DIR, "bundles", sha256, BUNDLE_FILE), bytes };
  });
  // One row per handler: functions with the same source share a bundle.
  return [...new Map(functions.map((f) => [f.handler, f])).values()].sort((a, b) => a.handler.localeCompare(b.handler));
}

const payload = (file: string) => JSON.parse(fs.readFileSync(path.join(PAYLOADS_DIR, file), "utf8"));
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
export const FIRST_EVENTS: Record<string, () => unknown> = {
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
 * Apps whose first invocation cannot run here, why, and the environment that lets their
 * bundles load (nothing listens at that MongoDB address: only loading is timed).
 */
const LOAD_ONLY: Record<string, { why: string; env: Record<string, string> }> = {
  iota: {
    why: "its first invocation needs a MongoDB replica set and EventBridge, neither of which runs here",
    env: {
      MILL_IOTA_MONGO_URI: "mongodb://127.0.0.1:9/bench",
      MILL_IOTA_MONGO_DB: "bench",
      MILL_IOTA_SERVICE_ID: "bench",
      MILL_IOTA_AWS_REGION: "eu-west-2",
    },
  },
};

/** What no figure here holds, and why: said under the table. */
export const NOT_MEASURED = [
  "TLS: the stand-ins speak plain HTTP, so the handshakes a deployed function makes on its first request (to DynamoDB, SNS, SQS, Auth0, the Learning Paths API) are not in these figures; the SDK loads node:https at load either way.",
  "The Parameters and Secrets extension's own start in Lambda: it starts beside the function, during its init; here the SSM stand-in answers its API at once.",
  "The Lambda runtime's own start, and the container's: the floor stands in for them.",
  'The originals: their code cannot live in this repository, so the ratios to their cold starts are measured outside it (docs/bench.md, "Cold starts", gives them, with the method).',
];

const CPU_LINE = 'const c = process.cpuUsage(); process.stdout.write("\\ncpu " + (c.user + c.system) / 1000 + "\\n");';

/** The floor: bare `node -e`, printing only its CPU time. */
const FLOOR_SCRIPT = CPU_LINE;

/**
 * Loads the bundle and, given an event file, runs one invocation with a Lambda-like context; a
 * 5xx answer, or a failed record of a batch, fails. The process times the invocation itself,
 * from the loaded bundle to the invocation's answer, and prints it as \`first-invocation <ms>\`:
 * the difference of two processes' medians would carry both processes' noise, and can come out
 * negative.
 */
export const RUNNER = `
const report = () => { ${CPU_LINE} process.exit(0); };
const { handler } = require(process.env.BENCH_BUNDLE);
if (!process.env.BENCH_EVENT) report();
const event = JSON.parse(require("fs").readFileSync(process.env.BENCH_EVENT, "utf8"));
const deadline = Date.now() + 30000;
const context = { awsRequestId: "00000000-0000-4000-8000-000000000000", functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:eu-west-2:000000000000:function:bench", memoryLimitInMB: "256", getRemainingTimeInMillis: () => deadline - Date.now() };
const started = performance.now();
Promise.resolve(handler(event, context)).then(
  (result) => {
    if (result && (result.statusCode >= 500 || (result.batchItemFailures || []).length > 0)) process.exit(2);
    process.stdout.write("\\nfirst-invocation " + (performance.now() - started).toFixed(2) + "\\n");
    report();
  },
  (err) => { console.error(err); process.exit(1); });
`;

/** The name of the figure RUNNER prints for the first invocation. */
export const FIRST_INVOCATION = "first-invocation";

/** One measurement: the function's runs, the floor's beside them, and the per-pair ratios. */
export interface Timed {
  subject: TimedRun[];
  floor: TimedRun[];
  wallRatios: number[];
  cpuRatios: number[];
}

export interface ColdStart {
  fn: DeployedFunction;
  gzipBytes: number;
  loadOnly: Timed;
  /** Undefined when the first invocation cannot run here: `notMeasured` says why. */
  firstInvocation?: Timed;
  notMeasured?: string;
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
    const floor = () => timeRun(node, ["-e", FLOOR_SCRIPT]);
    const results: ColdStart[] = [];
    for (const fn of functions) {
      const env = {
        ...process.env,
        ...(apps.get(fn.app)?.env ?? LOAD_ONLY[fn.app]?.env),
        POWERTOOLS_LOG_LEVEL: "INFO",
        POWERTOOLS_SERVICE_NAME: fn.handler,
        AWS_LAMBDA_FUNCTION_NAME: fn.handler,
        AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
        BENCH_BUNDLE: fn.file,
      };
      const loadOnly = await timed(() => timeRun(node, ["-e", RUNNER], { env }), floor);
      const event = apps.has(fn.app) ? FIRST_EVENTS[fn.handler] : undefined;
      let firstInvocation: Timed | undefined;
      if (event) {
        const eventFile = path.join(dir, `${fn.handler}.json`);
        fs.writeFileSync(eventFile, JSON.stringify(event()));
        firstInvocation = await timed(() => timeRun(node, ["-e", RUNNER], { env: { ...env, BENCH_EVENT: eventFile } }), floor);
      }
      results.push({
        fn,
        gzipBytes: gzipSync(fs.readFileSync(fn.file)).byteLength,
        loadOnly,
        firstInvocation,
        notMeasured: event ? undefined : (LOAD_ONLY[fn.app]?.why ?? `there is no first event or local stand-in for ${fn.app}`),
      });
    }
    return results;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const app of apps.values()) await app.close();
  }
}

async function timed(subject: () => Promise<TimedRun>, floor: () => Promise<TimedRun>): Promise<Timed> {
  const runs = await timeRunPairs(PAIRS, subject, floor);
  return { subject: runs.subject, floor: runs.baseline, wallRatios: runs.wallRatios, cpuRatios: runs.cpuRatios };
}

const wall = (t: Timed) => t.subject.map((r) => r.wallMs);
/** The first invocation as each cold-start process timed it, from its loaded bundle to the answer. */
export const firstInvocationTimes = (t: Timed) =>
  t.subject.map((r) => r.reported[FIRST_INVOCATION]).filter((ms): ms is number => ms !== undefined);
const cpu = (t: Timed) => t.subject.map((r) => r.cpuMs!);
const figure = (t: Timed) =>
  `${msWithSpread(wall(t))}, ${ratioWithSpread(t.wallRatios)}; CPU ${median(cpu(t)).toFixed(0)} ms, ${ratioWithSpread(t.cpuRatios)}`;
const floorOf = (t: Timed) =>
  `${median(t.floor.map((r) => r.wallMs)).toFixed(0)} ms; CPU ${median(t.floor.map((r) => r.cpuMs!)).toFixed(0)} ms`;

/** The markdown section. */
export function coldStartSection(results: ColdStart[]): string[] {
  const lines = [
    "## Zip bundles and cold starts",
    "",
    `Each function as prod deploys it (its NodeFunction's bundle). Load only: a fresh \`node\` that loads the bundle. Cold start: the same, then one invocation against the app's local stand-ins (\`npm run local\`). First invocation adds: that invocation alone, as each cold-start process timed it from its loaded bundle to the answer (median and interquartile range). Each is timed in ${PAIRS} pairs with the floor, a bare \`node -e\` that only prints its CPU time, alternating which runs first: the median wall time with its interquartile range, the median of the per-pair ratios with theirs, and the same for the CPU time each process reports. The floor is given beside each measurement. Goals: ≤ ${kb(ZIP_GOAL_BYTES)}, and loading alone ≤ ${LOAD_GOAL}× the floor.`,
    "",
    "| function | SDK | minified | gzip | load only: wall (IQR), ratio (IQR); CPU, ratio (IQR) | floor | cold start: wall (IQR), ratio (IQR); CPU, ratio (IQR) | floor | first invocation adds (IQR) |",
    "|---|---|---:|---:|---|---|---|---|---:|",
  ];
  for (const r of results) {
    const first = r.firstInvocation;
    lines.push(
      `| ${r.fn.handler} | ${r.fn.runtimeAwsSdk ? "runtime's" : "bundled"} | ${kb(r.fn.bytes)} | ${kb(r.gzipBytes)} | ${figure(r.loadOnly)} | ${floorOf(r.loadOnly)} | ${first ? figure(first) : "not measured"} | ${first ? floorOf(first) : "–"} | ${first ? msWithSpread(firstInvocationTimes(first)) : "–"} |`,
    );
  }
  const overSize = results.filter((r) => r.fn.bytes > ZIP_GOAL_BYTES).map((r) => `${r.fn.handler} (${kb(r.fn.bytes)})`);
  const overLoad = results
    .filter((r) => median(r.loadOnly.wallRatios) > LOAD_GOAL)
    .map((r) => `${r.fn.handler} (${median(r.loadOnly.wallRatios).toFixed(2)}×)`);
  lines.push(
    "",
    `Over ${kb(ZIP_GOAL_BYTES)}: ${overSize.join(", ") || "none"}. Loading over ${LOAD_GOAL}× the floor: ${overLoad.join(", ") || "none"}.`,
    "",
    "Not measured here:",
    "",
    ...results.filter((r) => r.notMeasured).map((r) => `- ${r.fn.handler}'s cold start: ${r.notMeasured}.`),
    ...NOT_MEASURED.map((line) => `- ${line}`),
    "",
  );
  return lines;
}
