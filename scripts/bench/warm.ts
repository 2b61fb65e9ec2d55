/**
 * Warm cost of the alma cache functions: a function's bundle, as prod deploys it, loaded once
 * in a process of its own (a warm container) and fed events at concurrency 1, 16 and 64,
 * against dynalite in the bench's process. The function process measures its own CPU
 * (`process.cpuUsage`, user + system) around each run, so that dynalite's CPU is not counted;
 * DynamoDB requests are counted by a proxy in a separate, untimed pass.
 *
 * Every run gets fresh users and loans (a realistic spread: each user gains a few loans), and
 * the subjects alternate within each round so that drift on a noisy machine falls on all of
 * them alike. The floor is the same process and events with a handler that only sends the
 * same number of bare requests: what any function making those requests would spend.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type ChildProcess, spawn } from "node:child_process";
import { BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
import { ALMA_TABLES, TOMBSTONES_TABLE } from "../../apps/alma/tables";
import { HDOC_USERS_TABLE } from "../../apps/hdoc/hdoc-backend";
import { HDOC_PRIVATE_ATTRIBUTES } from "../../apps/hdoc/settings";
import { ALMA_ENV, HDOC_ENV } from "../../handlers/lib/env-names";
import type { RunResult } from "../../tooling/mock-engine";
import { startFaultProxy } from "../../tooling/local/fault-proxy";
import { localAwsEnv } from "../../tooling/local/aws";
import { type LocalDynamo, startDynalite } from "../../tooling/local/dynamo";
import { startFakeSqs } from "../../tooling/local/fake-sqs";
import { queuedSnsEvent, snsEvent, webhookBody } from "../events/wrap";
import { deployedFunctions } from "./cold-start";
import { median, quantile, timeCommand } from "./stats";
import { PAYLOADS_DIR } from "../../paths";

/** The concurrencies the issue asks for. */
export const CONCURRENCIES = [1, 16, 64];
/** Rounds of alternated runs per concurrency: enough for a median and quartiles. */
export const ROUNDS = 7;
/** Users per run: each gains events / USERS loans. */
const USERS = 100;

/**
 * The function process: loads a handler once, then runs each batch of events it is sent at
 * the given concurrency, with a Lambda-like context, and reports its own CPU and wall time.
 * A handler that takes a callback (Node's older Lambda style) is called with one.
 */
const WORKER = `
const mod = require(process.env.WARM_MODULE);
const requests = Number(process.env.WARM_FLOOR_REQUESTS || 0);
const http = require("http");
const agent = new http.Agent({ keepAlive: true });
const endpoint = new URL(process.env.AWS_ENDPOINT_URL_DYNAMODB || "http://127.0.0.1:1");
const bare = (body) => new Promise((resolve, reject) => {
  const req = http.request({ host: endpoint.hostname, port: endpoint.port, method: "POST", path: "/", agent,
    // dynalite wants an Authorization header of the right form; it checks no signature.
    headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810." + process.env.WARM_FLOOR_OPERATION, "content-length": Buffer.byteLength(body),
      "x-amz-date": "20240101T000000Z", authorization: "AWS4-HMAC-SHA256 Credential=local/20240101/eu-west-2/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0" } }, (res) => {
    res.on("data", () => {});
    res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error("the floor's request answered " + res.statusCode))));
  });
  req.on("error", reject);
  req.end(body);
});
const floor = async (event) => {
  for (const record of event.Records || [event]) {
    for (let i = 0; i < requests; i++) {
      const key = process.env.WARM_FLOOR_OPERATION === "GetItem" ? { Key: { id: { S: String(record.messageId) } } } : {};
      await bare(JSON.stringify({ TableName: process.env.WARM_FLOOR_TABLE, ...key }));
    }
  }
  return { batchItemFailures: [] };
};
const fn = process.env.WARM_NOOP ? floor : mod[process.env.WARM_EXPORT || "handler"];
const invoke = fn.length >= 3
  ? (event, context) => new Promise((resolve, reject) => { fn(event, context, (err, result) => (err ? reject(err) : resolve(result))); })
  : async (event, context) => fn(event, context);
let invocation = 0;
process.on("message", async ({ events, concurrency }) => {
  const failures = [];
  let next = 0;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < events.length) {
      const event = events[next++];
      const deadline = Date.now() + 30000;
      const context = { awsRequestId: "00000000-0000-4000-8000-" + String(++invocation).padStart(12, "0"), functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
        functionVersion: "$LATEST", invokedFunctionArn: "arn:aws:lambda:eu-west-2:000000000000:function:bench", memoryLimitInMB: "256",
        getRemainingTimeInMillis: () => deadline - Date.now() };
      try {
        const result = await invoke(event, context);
        for (const f of (result && result.batchItemFailures) || []) failures.push("failed record " + f.itemIdentifier);
        if (result && result.statusCode >= 300) failures.push("answered " + result.statusCode + ": " + String(result.body).slice(0, 200));
      } catch (err) {
        failures.push(String(err && err.message || err));
      }
    }
  }));
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  process.send({ cpuMs: (used.user + used.system) / 1000, systemMs: used.system / 1000, wallMs, failures: failures.length, firstFailure: failures[0] });
});
process.on("disconnect", () => process.exit(0));
process.send({ ready: true });
`;

export interface RunStats {
  events: number;
  cpuMs: number;
  /** Of which in the kernel: on this machine's VMs, mostly sending on loopback sockets. */
  systemMs: number;
  wallMs: number;
}

/** A warm function: its module, the export Lambda calls, and the environment it runs with. */
export interface WarmSubject {
  label: string;
  /** The messages it takes (new loans by default). */
  loanEvent?: LoanEvent;
  module: string;
  exportName?: string;
  env: Record<string, string>;
  /** How a run's events are wrapped into invocations. */
  invocations: (messages: string[]) => unknown[];
  /**
   * The floor: the same process and events with a handler that only sends, per record, this
   * many bare requests (unsigned, answers unread) to the same DynamoDB endpoint; 0 for none.
   */
  floor?: { requests: number; operation?: "GetItem" | "Scan"; table?: string };
}

/** One warm container of a subject. */
export class FunctionProcess {
  private constructor(
    private readonly child: ChildProcess,
    private stderr: string[],
  ) {}

  static async start(subject: WarmSubject, execArgv: string[] = []): Promise<FunctionProcess> {
    const child = spawn(process.execPath, [...execArgv, "-e", WORKER], {
      env: {
        PATH: process.env.PATH,
        ...subject.env,
        WARM_MODULE: subject.module,
        ...(subject.exportName ? { WARM_EXPORT: subject.exportName } : {}),
        ...(subject.floor
          ? {
              WARM_NOOP: "1",
              WARM_FLOOR_REQUESTS: String(subject.floor.requests),
              WARM_FLOOR_OPERATION: subject.floor.operation ?? "GetItem",
              WARM_FLOOR_TABLE: subject.floor.table ?? "",
            }
          : {}),
      },
      // The function's logs go where Lambda's would not be read here: nowhere.
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    const stderr: string[] = [];
    child.stderr!.on("data", (d) => stderr.push(String(d)));
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (code) =>
        reject(new Error(`${subject.label}: the function process exited ${code}: ${stderr.join("").slice(0, 2000)}`)),
      );
    });
    return new FunctionProcess(child, stderr);
  }

  async run(invocations: unknown[], events: number, concurrency: number): Promise<RunStats> {
    const answer = new Promise<{ cpuMs: number; systemMs: number; wallMs: number; failures: number; firstFailure?: string }>(
      (resolve, reject) => {
        const exited = (code: number | null) =>
          reject(new Error(`the function process exited ${code}: ${this.stderr.join("").slice(0, 2000)}`));
        this.child.once("exit", exited);
        this.child.once("message", (message) => {
          this.child.off("exit", exited);
          resolve(message as never);
        });
      },
    );
    this.child.send({ events: invocations, concurrency });
    const { cpuMs, systemMs, wallMs, failures, firstFailure } = await answer;
    if (failures > 0) throw new Error(`${failures} invocations or records failed; the first: ${firstFailure}`);
    return { events, cpuMs, systemMs, wallMs };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once("exit", () => resolve());
      // Disconnecting lets it exit on its own, so that --cpu-prof writes its profile.
      this.child.disconnect();
    });
  }
}

/** The tables (named as the local stand-ins name them) and the loan messages of the runs. */
/** Which loan messages a subject takes: LOAN_CREATED (alma-loan-updated) or LOAN_RETURNED (alma-loan-returned). */
export type LoanEvent = "created" | "returned";

export class AlmaStand {
  private run = 0;
  private readonly base: Record<LoanEvent, Record<string, unknown>>;

  private constructor(
    readonly dynamo: LocalDynamo,
    readonly env: Record<string, string>,
    private readonly closeAll: () => Promise<void>,
  ) {
    const fixture = (name: string) =>
      JSON.parse(webhookBody(JSON.parse(fs.readFileSync(path.join(PAYLOADS_DIR, "alma-webhook", `${name}.json`), "utf8"))));
    this.base = { created: fixture("loan_created_event"), returned: fixture("loan_returned_event") };
  }

  static async start(): Promise<AlmaStand> {
    const dynamo = await startDynalite();
    for (const [name, schema] of Object.entries({ ...ALMA_TABLES, tombstones: TOMBSTONES_TABLE })) await dynamo.createTable(name, schema);
    const sqs = await startFakeSqs();
    const env = {
      ...localAwsEnv({ AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_ENDPOINT_URL_SQS: sqs.url }),
      [ALMA_ENV.usersTable]: "users",
      [ALMA_ENV.loansTable]: "loans",
      [ALMA_ENV.requestsTable]: "requests",
      [ALMA_ENV.tombstonesTable]: "tombstones",
      [ALMA_ENV.usersQueueUrl]: sqs.queueUrl("users"),
    };
    return new AlmaStand(dynamo, env, async () => void (await Promise.all([dynamo.close(), sqs.close()])));
  }

  /**
   * `events` loan messages of USERS fresh, cached users, each as Alma sent it an hour ago (a
   * captured delivery, re-dated and re-keyed): new loans, or returns of loans the users hold
   * (cached, and in their `loan_ids`).
   */
  async messages(events: number, kind: LoanEvent = "created"): Promise<string[]> {
    const run = ++this.run;
    const users = Array.from({ length: Math.min(USERS, events) }, (_, i) => `BENCH${run}U${i}`);
    const loanIds = Array.from({ length: events }, (_, i) => `${run}0000${i}`);
    const held = (u: number) => (kind === "returned" ? loanIds.filter((_, i) => i % users.length === u) : []);
    const expiry = Math.floor(Date.now() / 1000) + 86_400;
    const write = async (table: string, items: Record<string, unknown>[]) => {
      for (let i = 0; i < items.length; i += 25) {
        await this.dynamo.documents.send(
          new BatchWriteCommand({ RequestItems: { [table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }),
        );
      }
    };
    await write(
      "users",
      users.map((id, u) => ({ primary_id: id.toLowerCase(), loan_ids: held(u), request_ids: [], fee_ids: [], expiry_date: expiry })),
    );
    if (kind === "returned")
      await write(
        "loans",
        loanIds.map((loan_id, i) => ({ loan_id, user_id: users[i % users.length].toLowerCase() })),
      );
    const time = new Date(Date.now() - 3_600_000).toISOString();
    const base = this.base[kind];
    const loan = base.item_loan as Record<string, unknown>;
    return loanIds.map((loan_id, i) =>
      JSON.stringify({ ...base, time, item_loan: { ...loan, loan_id, user_id: users[i % users.length] } }),
    );
  }

  close(): Promise<void> {
    return this.closeAll();
  }
}

/** SQS batches of `size`, as the event source mapping hands them out (each body the SNS notification). */
export const sqsBatches = (size: number) => (messages: string[]) => {
  const batches: unknown[] = [];
  for (let i = 0; i < messages.length; i += size) batches.push(queuedSnsEvent(messages.slice(i, i + size)));
  return batches;
};

/** One SNS event per message, as SNS hands it to a subscribed function. */
export const snsEvents = (messages: string[]) => messages.map((m) => snsEvent(m));

/** Events per run at a concurrency: every lane gets several invocations of 10. */
export const eventsAt = (concurrency: number) => Math.max(400, concurrency * 20);

export interface WarmFigures {
  label: string;
  concurrency: number;
  cpuPerEventMs: number[];
  systemPerEventMs: number[];
  eventsPerSecond: number[];
}

/**
 * Events each function process handles before it is measured: V8 optimizes a handler's hot
 * paths over its first few thousand events, and both ours and the original's CPU per event
 * roughly halve over them. A warm container lives far longer.
 */
export const WARMUP_EVENTS = 3_000;

/**
 * Runs every subject at each concurrency, `rounds` times, alternating their order (forwards,
 * then backwards), each run on fresh users and loans, in one warm process per subject.
 */
export async function measureWarm(
  stand: AlmaStand,
  subjects: WarmSubject[],
  concurrencies = CONCURRENCIES,
  rounds = ROUNDS,
): Promise<WarmFigures[]> {
  const processes = await Promise.all(subjects.map((s) => FunctionProcess.start(s)));
  const figures: WarmFigures[] = [];
  try {
    for (const [i, p] of processes.entries())
      await p.run(subjects[i].invocations(await stand.messages(WARMUP_EVENTS, subjects[i].loanEvent)), WARMUP_EVENTS, 16);
    for (const concurrency of concurrencies) {
      const rows = subjects.map((s) => ({
        label: s.label,
        concurrency,
        cpuPerEventMs: [] as number[],
        systemPerEventMs: [] as number[],
        eventsPerSecond: [] as number[],
      }));
      const events = eventsAt(concurrency);
      for (let round = 0; round < rounds; round++) {
        const order = subjects.map((_, i) => i);
        if (round % 2 === 1) order.reverse();
        for (const i of order) {
          const messages = await stand.messages(events, subjects[i].loanEvent);
          const stats = await processes[i].run(subjects[i].invocations(messages), events, concurrency);
          rows[i].cpuPerEventMs.push(stats.cpuMs / events);
          rows[i].systemPerEventMs.push(stats.systemMs / events);
          rows[i].eventsPerSecond.push(events / (stats.wallMs / 1000));
        }
      }
      figures.push(...rows);
    }
  } finally {
    await Promise.all(processes.map((p) => p.close()));
  }
  return figures;
}

/** DynamoDB requests per event of a subject, counted by a proxy in front of dynalite (untimed). */
export async function requestsPerEvent(stand: AlmaStand, subject: WarmSubject, events = 20): Promise<number> {
  const proxy = await startFaultProxy(stand.dynamo.endpoint);
  const counted = { ...subject, env: { ...subject.env, AWS_ENDPOINT_URL_DYNAMODB: proxy.url } };
  const fn = await FunctionProcess.start(counted);
  try {
    // The first invocation's requests (a cold start's) are not a warm event's.
    await fn.run(subject.invocations(await stand.messages(1, subject.loanEvent)), 1, 1);
    const before = proxy.requests;
    await fn.run(subject.invocations(await stand.messages(events, subject.loanEvent)), events, 1);
    return (proxy.requests - before) / events;
  } finally {
    await fn.close();
    await proxy.close();
  }
}

/** `1.23 (1.10–1.40)`: a median and its interquartile range. */
export const withSpread = (values: number[], digits = 2) =>
  `${median(values).toFixed(digits)} (${quantile(values, 0.25).toFixed(digits)}–${quantile(values, 0.75).toFixed(digits)})`;

/**
 * alma-loan-updated and alma-loan-returned as prod deploys them, as batches of 10 (as
 * deployed) and of 1 (like for like with the original's one SNS record per invocation), and
 * the floors of their 3 and 4 requests per event.
 */
export function almaSubjects(run: RunResult, stand: AlmaStand): WarmSubject[] {
  const deployed = deployedFunctions(run);
  const subjects: WarmSubject[] = [];
  for (const [handler, loanEvent, requests] of [
    ["alma-loan-updated", "created", 3],
    ["alma-loan-returned", "returned", 4],
  ] as const) {
    const fn = deployed.find((f) => f.handler === handler);
    if (!fn) throw new Error(`the stack deploys no ${handler}`);
    const env = { ...stand.env, POWERTOOLS_SERVICE_NAME: fn.handler, AWS_LAMBDA_FUNCTION_NAME: fn.handler };
    subjects.push(
      { label: `${handler}, batches of 10`, module: fn.file, env, loanEvent, invocations: sqsBatches(10) },
      { label: `${handler}, batches of 1`, module: fn.file, env, loanEvent, invocations: sqsBatches(1) },
      {
        label: `floor: ${requests} bare requests per record`,
        module: fn.file,
        env,
        loanEvent,
        invocations: sqsBatches(1),
        floor: { requests, table: "tombstones" },
      },
    );
  }
  return subjects;
}

/** What this section cannot measure, and why: said beside its figures. */
const NOT_MEASURED =
  "Not measured here: the originals (LAG-sns-update-cache, 100DaysOfCloudBackend's get_users), whose code stays out of the repository (their figures, measured the same way, are in docs/bench.md); TLS, which the plain-HTTP stand-ins do not speak; and the Lambda runtime's own work around an invocation (reading the event, shipping the logs).";

/** The markdown section. */
export async function warmSection(run: RunResult, say: (line?: string) => void): Promise<void> {
  say("## Warm cost: alma loan-updated and loan-returned against dynalite");
  say();
  say(
    `The bundle as prod deploys it, in a process of its own (a container), warmed with ${WARMUP_EVENTS} events, then fed loan messages of ${USERS} cached users at each concurrency in that one process: new loans (each user gains a few), or returns of loans the users hold. CPU is the function process's own (user + system, per event); dynalite runs in the bench's process and is not counted. ${ROUNDS} runs per row, the subjects alternated; medians (IQR). The floor is the same process fed the same single-record batches with a handler that only sends as many bare requests per record as the function does (unsigned GetItems whose answers it does not read) over a keep-alive connection: the part no code of ours can cut. ${NOT_MEASURED}`,
  );
  say();
  const stand = await AlmaStand.start();
  try {
    const subjects = almaSubjects(run, stand);
    const requests = new Map<string, number>();
    for (const s of subjects) if (!s.floor) requests.set(s.label, await requestsPerEvent(stand, s));
    const figures = await measureWarm(stand, subjects);
    say("| subject | DynamoDB requests per event | concurrency | events per run | CPU per event, ms | floor | events/s | floor |");
    say("|---|---:|---:|---:|---:|---:|---:|---:|");
    const floors = new Map(subjects.filter((s) => s.floor).map((s) => [s.floor!.requests, s.label]));
    for (const f of figures.filter((g) => requests.has(g.label))) {
      const floorLabel = floors.get(Math.round(requests.get(f.label)!)) ?? [...floors.values()][0];
      const floor = figures.find((g) => g.label === floorLabel && g.concurrency === f.concurrency)!;
      say(
        `| ${f.label} | ${requests.get(f.label)!.toFixed(1)} | ${f.concurrency} | ${eventsAt(f.concurrency)} | ${withSpread(f.cpuPerEventMs, 3)} | ${withSpread(floor.cpuPerEventMs, 3)} | ${withSpread(f.eventsPerSecond, 0)} | ${withSpread(floor.eventsPerSecond, 0)} |`,
      );
    }
    const bare: number[] = [];
    for (let i = 0; i < ROUNDS; i++) bare.push(await timeCommand(process.execPath, ["-e", "0"]));
    say();
    say(
      `Concurrent invocations share one process here, as they never do on Lambda: events/s is what one container could take, and dynalite's own speed bounds it at 16 and 64. Bare \`node -e 0\` in the same run: ${withSpread(bare, 0)} ms.`,
    );
  } finally {
    await stand.close();
  }
  say();
}

// ---------------------------------------------------------------------------------------------
// hdoc: the full listing of GET /users, warm.

/** Users in the listing, each a few hundred bytes as the 100DaysOfCloud site stores them. */
export const HDOC_USERS = 1_000;

/** A user as the site's sign-up and progress updates leave it (about 450 bytes of DynamoDB JSON). */
export function hdocUser(i: number): Record<string, unknown> {
  const day = (n: number) => new Date(Date.UTC(2021, 0, 1) + n * 86_400_000).toISOString();
  return {
    github_username: `cloud-learner-${String(i).padStart(4, "0")}`,
    name: `Learner Number ${i}`,
    email: `learner${i}@example.org`,
    cognito_sub: `0f1e2d3c-4b5a-4968-8776-${String(i).padStart(12, "0")}`,
    days_completed: i % 101,
    current_streak: i % 17,
    longest_streak: (i % 17) + 3,
    status: i % 5 === 0 ? "completed" : "active",
    country: ["United Kingdom", "India", "Nigeria", "Brazil", "Canada"][i % 5],
    bio: "Learning AWS one day at a time: serverless, networking and infrastructure as code.",
    twitter_username: `learner_${i}`,
    website: `https://learner${i}.example.org/blog`,
    created_at: day(i % 365),
    updated_at: day((i % 365) + 30),
    badges: ["day-1", "day-10", ...(i % 3 === 0 ? ["day-50"] : [])],
  };
}

/** dynalite with the users table of HDOC_USERS users, and the environment of hdoc-get-users. */
export async function hdocStand(): Promise<{ dynamo: LocalDynamo; env: Record<string, string>; close: () => Promise<void> }> {
  const dynamo = await startDynalite();
  await dynamo.createTable("users", HDOC_USERS_TABLE);
  for (let i = 0; i < HDOC_USERS; i += 25) {
    const puts = Array.from({ length: Math.min(25, HDOC_USERS - i) }, (_, j) => ({ PutRequest: { Item: hdocUser(i + j) } }));
    await dynamo.documents.send(new BatchWriteCommand({ RequestItems: { users: puts } }));
  }
  const env = {
    ...localAwsEnv({ AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint }),
    [HDOC_ENV.usersTable]: "users",
    [HDOC_ENV.publicAttributes]: JSON.stringify({ except: HDOC_PRIVATE_ATTRIBUTES }),
  };
  return { dynamo, env, close: () => dynamo.close() };
}

/** `GET /users` as the HTTP API hands it to the function (payload 2.0), with its query. */
export const listingEvent = (query?: Record<string, string>) => ({
  version: "2.0",
  routeKey: "GET /users",
  rawPath: "/users",
  rawQueryString: query ? new URLSearchParams(query).toString() : "",
  headers: { host: "api.example.org" },
  ...(query ? { queryStringParameters: query } : {}),
  requestContext: { http: { method: "GET", path: "/users" } },
  isBase64Encoded: false,
});

/** Listings per run; each run's time and CPU are divided by it. */
export const LISTINGS_PER_RUN = 10;
/** Untimed runs first, for V8 to optimize the listing. */
const HDOC_WARMUP_RUNS = 3;

export async function hdocSection(run: RunResult, say: (line?: string) => void): Promise<void> {
  say("## Warm cost: hdoc full listing (GET /users)");
  say();
  const fn = deployedFunctions(run).find((f) => f.handler === "hdoc-get-users");
  if (!fn) throw new Error("the stack deploys no hdoc-get-users");
  const stand = await hdocStand();
  const proxy = await startFaultProxy(stand.dynamo.endpoint);
  try {
    const env = { ...stand.env, POWERTOOLS_SERVICE_NAME: fn.handler, AWS_LAMBDA_FUNCTION_NAME: fn.handler };
    // Requests and size of one listing, counted through a proxy.
    const counted = await FunctionProcess.start({
      label: "count",
      module: fn.file,
      env: { ...env, AWS_ENDPOINT_URL_DYNAMODB: proxy.url },
      invocations: () => [],
    });
    await counted.run([listingEvent()], 1, 1);
    const before = proxy.requests;
    await counted.run([listingEvent()], 1, 1);
    const scans = proxy.requests - before;
    await counted.close();
    say(
      `The bundle as prod deploys it, warm, listing ${HDOC_USERS} users of about 450 bytes each (all of them: one invocation, ${scans} Scan page${scans === 1 ? "" : "s"} of up to 1 MB). Each run is ${LISTINGS_PER_RUN} listings one after another, after ${HDOC_WARMUP_RUNS * LISTINGS_PER_RUN} untimed; ${ROUNDS} runs, alternated with the floor (the same process with a handler that only sends one bare Scan of the same table, unsigned, its answer unread); medians (IQR). Wall time includes dynalite's Scan; CPU is the function process's own. ${NOT_MEASURED}`,
    );
    say();
    const subject: WarmSubject = { label: "hdoc-get-users, full listing", module: fn.file, env, invocations: () => [] };
    const floor: WarmSubject = {
      ...subject,
      label: "floor: one bare Scan of the same page",
      floor: { requests: 1, operation: "Scan", table: "users" },
    };
    const [ours, none] = [await FunctionProcess.start(subject), await FunctionProcess.start(floor)];
    const rows = new Map<string, { ms: number[]; cpu: number[] }>([
      [subject.label, { ms: [], cpu: [] }],
      [floor.label, { ms: [], cpu: [] }],
    ]);
    try {
      const events = Array.from({ length: LISTINGS_PER_RUN }, () => listingEvent());
      for (let round = -HDOC_WARMUP_RUNS; round < ROUNDS; round++) {
        const order: [string, FunctionProcess][] = [
          [subject.label, ours],
          [floor.label, none],
        ];
        if (round % 2 === 1) order.reverse();
        for (const [label, p] of order) {
          const stats = await p.run(events, LISTINGS_PER_RUN, 1);
          if (round < 0) continue;
          rows.get(label)!.ms.push(stats.wallMs / LISTINGS_PER_RUN);
          rows.get(label)!.cpu.push(stats.cpuMs / LISTINGS_PER_RUN);
        }
      }
    } finally {
      await Promise.all([ours.close(), none.close()]);
    }
    say("| subject | invocations per listing | Scan requests | ms per listing | CPU ms per listing |");
    say("|---|---:|---:|---:|---:|");
    for (const [label, r] of rows)
      say(
        `| ${label} | ${label === floor.label ? "–" : 1} | ${label === floor.label ? "–" : scans} | ${withSpread(r.ms, 1)} | ${withSpread(r.cpu, 1)} |`,
      );
  } finally {
    await proxy.close();
    await stand.close();
  }
  say();
}
