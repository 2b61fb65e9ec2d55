/**
 * The dead-letter queues of a stack: list what is parked, show one message, replay them.
 *
 *   npm run dlq -- list   [--stack <s> | --outputs <file>] [--queue <name|url>]... [--app <app>] [--limit <n>] [--json]
 *   npm run dlq -- show <message-id> [the same selection]
 *   npm run dlq -- replay [the same selection] [--limit <n>] [--dry-run] [--resend-refused] [--function <name>]
 *
 * The queues come from the stack's `deadLetterQueues` output (`pulumi stack output --json`,
 * or a saved copy with --outputs), or from --queue. Each message is unwrapped from the format
 * it was kept in (scripts/dlq/formats.ts) and replayed to the function or queue it came from:
 * a function is invoked synchronously with the event it originally received, and the message
 * is deleted only when that invocation succeeded. A message that cannot be read or replayed
 * stays in its queue, with its id and the reason printed, and the command exits 1.
 * See docs/runbook.md, "Parked events: list and replay".
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import type { Message } from "@aws-sdk/client-sqs";
import * as z from "zod/mini";
import { parseEvent } from "../handlers/lib/events";
import { maskEmails, type Parked, type QueueEntry, type Replay, UnreadableMessage, type UnwrapOptions } from "./dlq/formats";
import {
  Clients,
  deleteMessage,
  QueueError,
  queueStats,
  READ_VISIBILITY_SECONDS,
  read,
  REPLAY_VISIBILITY_SECONDS,
  replayMessage,
  regionOf,
  visitMessages,
} from "./dlq/run";
import { defineCommand, parseCommandLine, usageError } from "./lib/cli";
import { runMain } from "./lib/main";

export const DLQ_COMMAND = defineCommand({
  command: "npm run dlq",
  help: [
    "Usage: npm run dlq -- list [selection] [--limit <n>] [--json]",
    "       npm run dlq -- show <message-id> [selection]",
    "       npm run dlq -- replay [selection] [--limit <n>] [--dry-run] [--resend-refused]",
    "",
    "The events a stack's functions could not handle are parked in its dead-letter queues, with",
    "their reason. This reads them with this machine's AWS credentials and the Pulumi CLI.",
    "",
    "  list      every message parked in the stack's dead-letter queues: age, reason, function, keys",
    "  show      one message in full: its record and what a replay sends (e-mail addresses masked)",
    "  replay    sends each message back to the function or queue it came from, and deletes it",
    "            once that succeeded; what fails stays in its queue",
    "",
    "Selection (the stack's deadLetterQueues output, or queues given):",
    "  --stack <stack>        read `pulumi stack output --json --stack <stack>` (default: the selected stack)",
    "  --outputs <file>       read a saved copy of that JSON instead",
    "  --queue <name|url>     only this queue (repeatable); a URL that the outputs do not list is read as given",
    "  --app <app>            only this app's queues (lessons, alma, skills, iota)",
    "  --function <name>      where a message that names no function goes (a --queue URL's own records)",
    "Options:",
    "  --limit <n>            messages handled at most (default: all)",
    "  --dry-run              replay: say what would be sent where, change nothing",
    "  --resend-refused       replay: send the lessons the Learning Paths API refused again (once the cause is fixed)",
    "  --json                 list: JSON",
    "  -h, --help             print this help and exit",
    "",
    "Examples:",
    "  npm run dlq -- list --stack prod",
    "  npm run dlq -- replay --stack prod --app alma --dry-run",
    "",
  ].join("\n"),
  options: {
    stack: { type: "string" },
    outputs: { type: "string" },
    queue: { type: "string", multiple: true, default: [] },
    app: { type: "string" },
    function: { type: "string" },
    limit: { type: "string" },
    "dry-run": { type: "boolean", default: false },
    "resend-refused": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
  allowPositionals: true,
});

class UsageError extends Error {}

const entrySchema = z.object({
  app: z.string(),
  name: z.string(),
  url: z.string(),
  arn: z.optional(z.string()),
  functionName: z.optional(z.string()),
  sources: z.optional(z.array(z.object({ arn: z.string(), functionName: z.string() }))),
  sendBackTo: z.optional(z.object({ url: z.string(), arn: z.string() })),
  reconciles: z.optional(z.boolean()),
});
const outputsSchema = z.object({ deadLetterQueues: z.array(entrySchema) });

/** The stack's dead-letter queues, from `pulumi stack output --json` or its saved copy (the whole document, or the array alone). */
export function queuesFromOutputs(json: unknown, where: string): QueueEntry[] {
  const document = Array.isArray(json) ? { deadLetterQueues: json } : json;
  if (typeof document === "object" && document !== null && !("deadLetterQueues" in document)) {
    throw new Error(
      `${where} has no deadLetterQueues output: the stack was deployed before it existed (run \`pulumi up\`), or give --queue <url>`,
    );
  }
  return parseEvent(outputsSchema, document, `stack outputs (${where})`, [], Number.MAX_SAFE_INTEGER).deadLetterQueues;
}

function readOutputs(values: { stack?: string; outputs?: string }): QueueEntry[] {
  if (values.outputs) {
    let text: string;
    try {
      text = fs.readFileSync(values.outputs, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read --outputs ${values.outputs}: ${(err as Error).message}`);
    }
    try {
      return queuesFromOutputs(JSON.parse(text), values.outputs);
    } catch (err) {
      if (err instanceof SyntaxError) throw new UsageError(`--outputs ${values.outputs} is not JSON: ${err.message}`);
      throw err;
    }
  }
  const args = ["stack", "output", "--json", ...(values.stack ? ["--stack", values.stack] : [])];
  const result = spawnSync("pulumi", args, { encoding: "utf8" });
  if (result.error) {
    throw new Error(
      `could not run \`pulumi ${args.join(" ")}\` (${result.error.message}): install the Pulumi CLI, or give --outputs <file> or --queue <url>`,
    );
  }
  if (result.status !== 0) throw new Error(`\`pulumi ${args.join(" ")}\` failed: ${result.stderr.trim() || `exit ${result.status}`}`);
  return queuesFromOutputs(JSON.parse(result.stdout), `the outputs of ${values.stack ? `stack ${values.stack}` : "the selected stack"}`);
}

/** A queue given by URL that the outputs do not list: read as given. */
function queueFromUrl(url: string, functionName: string | undefined): QueueEntry {
  const [, host = "", account = "", name = ""] = /^https?:\/\/([^/]+)\/([^/]+)\/([^/?]+)/.exec(url) ?? [];
  if (!name) throw new UsageError(`--queue ${url}: not a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)`);
  const region = regionOf({ url: `https://${host}/` });
  return {
    app: "-",
    name,
    url,
    arn: region && /^\d{12}$/.test(account) ? `arn:aws:sqs:${region}:${account}:${name}` : undefined,
    functionName,
  };
}

export function selectQueues(
  all: QueueEntry[] | undefined,
  wanted: string[],
  app: string | undefined,
  functionName: string | undefined,
): QueueEntry[] {
  const known = all ?? [];
  const chosen =
    wanted.length === 0
      ? known
      : wanted.map((q) => {
          const entry = known.find((e) => e.name === q || e.url === q || e.arn === q);
          if (entry) return functionName ? { ...entry, functionName } : entry;
          if (/^https?:\/\//.test(q)) return queueFromUrl(q, functionName);
          throw new UsageError(
            `unknown queue "${q}": the stack's dead-letter queues are ${known.map((e) => e.name).join(", ") || "none"} (or give a queue URL)`,
          );
        });
  const apps = new Set(known.map((e) => e.app));
  if (app !== undefined && !apps.has(app) && wanted.length === 0)
    throw new UsageError(`unknown app "${app}": the stack's apps with dead-letter queues are ${[...apps].join(", ") || "none"}`);
  return app === undefined ? chosen : chosen.filter((e) => e.app === app);
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 2 * 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  const hours = Math.floor((s % 86400) / 3600);
  return `${Math.floor(s / 86400)}d${hours ? ` ${hours}h` : ""}`;
}

const keysText = (keys: Record<string, string>) =>
  Object.entries(keys)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");

/** How a replay sends it, in words. */
function replayText(replay: Replay): string {
  if (replay.action === "keep") return `kept: ${replay.why}`;
  if (replay.action === "send") return `sent back to ${replay.queueUrl}`;
  return `${replay.functionName} invoked with ${replay.batch ? "an SQS event of this one message" : "the event it received"}`;
}

/** The replay without its payload, for listings. */
const replaySummary = (replay: Replay) => {
  if (replay.action === "invoke")
    return { action: replay.action, functionName: replay.functionName, region: replay.region, batch: replay.batch };
  if (replay.action === "send") return { action: replay.action, queueUrl: replay.queueUrl };
  return replay;
};

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

interface Selection {
  queues: QueueEntry[];
  unwrap: UnwrapOptions;
  limit: number;
  clients: Clients;
  /** Long polling, in seconds: an empty answer then means an empty queue. */
  waitSeconds: number;
}

async function list(sel: Selection, json: boolean, io: Io): Promise<number> {
  let failed = 0;
  const report: unknown[] = [];
  for (const queue of sel.queues) {
    let stats: Awaited<ReturnType<typeof queueStats>>;
    try {
      stats = await queueStats(sel.clients, queue);
    } catch (err) {
      io.err((err as Error).message);
      failed += 1;
      continue;
    }
    const now = Date.now();
    const rows: { parked?: Parked; unreadable?: UnreadableMessage; message: Message }[] = [];
    try {
      await visitMessages(
        sel.clients,
        queue,
        { limit: sel.limit, visibilitySeconds: READ_VISIBILITY_SECONDS, waitSeconds: sel.waitSeconds },
        async (message) => {
          const parked = read(message, queue, sel.unwrap);
          rows.push(parked instanceof UnreadableMessage ? { unreadable: parked, message } : { parked, message });
          return "kept";
        },
      );
    } catch (err) {
      io.err((err as Error).message);
      failed += 1;
      continue;
    }
    const ageOf = (p: Parked) => (p.sentAt ? now - p.sentAt.getTime() : undefined);
    if (json) {
      report.push({
        queue: queue.name,
        app: queue.app,
        url: queue.url,
        visible: stats.visible,
        inFlight: stats.inFlight,
        messages: rows.map(({ parked, unreadable, message }) =>
          parked
            ? {
                messageId: parked.messageId,
                sentAt: parked.sentAt?.toISOString(),
                ageSeconds: ageOf(parked) === undefined ? undefined : Math.round(ageOf(parked)! / 1000),
                expiresInSeconds: parked.sentAt
                  ? Math.round((parked.sentAt.getTime() + stats.retentionSeconds * 1000 - now) / 1000)
                  : undefined,
                format: parked.format,
                reason: parked.reason,
                target: parked.target,
                keys: parked.keys,
                replay: replaySummary(parked.replay),
              }
            : { messageId: message.MessageId, unreadable: unreadable!.problem },
        ),
      });
      continue;
    }
    io.out(
      `${queue.name} (${queue.app}): ${stats.visible} message(s)${stats.inFlight ? `, ${stats.inFlight} in flight elsewhere` : ""}, kept ${duration(stats.retentionSeconds * 1000)}`,
    );
    for (const { parked, unreadable, message } of rows) {
      if (!parked) {
        io.out(`  ${message.MessageId}  unreadable: ${unreadable!.problem}`);
        continue;
      }
      const age = ageOf(parked);
      const expires = parked.sentAt ? parked.sentAt.getTime() + stats.retentionSeconds * 1000 - now : undefined;
      io.out(
        `  ${parked.messageId}  ${age === undefined ? "?" : duration(age)} old, expires in ${expires === undefined ? "?" : duration(expires)}  ${parked.format} → ${parked.target}  ${keysText(parked.keys)}\n      ${parked.reason}`,
      );
    }
  }
  if (json) io.out(JSON.stringify(report, null, 2));
  return failed > 0 ? 1 : 0;
}

async function show(sel: Selection, messageId: string, io: Io): Promise<number> {
  let failed = 0;
  for (const queue of sel.queues) {
    let found: { parked: Parked | UnreadableMessage; message: Message } | undefined;
    try {
      await visitMessages(
        sel.clients,
        queue,
        { limit: Number.MAX_SAFE_INTEGER, visibilitySeconds: READ_VISIBILITY_SECONDS, waitSeconds: sel.waitSeconds },
        async (message) => {
          if (message.MessageId !== messageId) return "kept";
          found = { parked: read(message, queue, sel.unwrap), message };
          return "stop";
        },
      );
    } catch (err) {
      io.err((err as Error).message);
      failed += 1;
      continue;
    }
    if (!found) continue;
    const { parked, message } = found;
    let body: unknown = message.Body;
    try {
      body = JSON.parse(message.Body ?? "");
    } catch {
      // Shown as the text it is.
    }
    const document = {
      queue: queue.name,
      app: queue.app,
      messageId,
      sentAt: message.Attributes?.SentTimestamp ? new Date(Number(message.Attributes.SentTimestamp)).toISOString() : undefined,
      ...(parked instanceof UnreadableMessage
        ? { unreadable: parked.problem }
        : {
            format: parked.format,
            reason: parked.reason,
            target: parked.target,
            keys: parked.keys,
            replay: { ...parked.replay, how: replayText(parked.replay) },
          }),
      message: { body, attributes: message.Attributes, messageAttributes: message.MessageAttributes },
    };
    io.out(JSON.stringify(document, null, 2));
    return parked instanceof UnreadableMessage ? 1 : failed > 0 ? 1 : 0;
  }
  io.err(`message ${messageId} is not in ${sel.queues.map((q) => q.name).join(", ")} (or another reader holds it: try again in a minute)`);
  return 1;
}

async function replay(sel: Selection, dryRun: boolean, io: Io): Promise<number> {
  const totals = { replayed: 0, failed: 0, unreadable: 0, kept: 0, covered: 0 };
  let queueErrors = 0;
  let budget = sel.limit;
  for (const queue of sel.queues) {
    if (budget <= 0) break;
    io.out(`${queue.name} (${queue.app}):`);
    // A reconciling function's successful run stands for every message parked before it started.
    let reconciled: { at: number; messageId: string } | undefined;
    try {
      const { visited } = await visitMessages(
        sel.clients,
        queue,
        { limit: budget, visibilitySeconds: REPLAY_VISIBILITY_SECONDS, waitSeconds: sel.waitSeconds },
        async (message) => {
          const parked = read(message, queue, sel.unwrap);
          if (parked instanceof UnreadableMessage) {
            totals.unreadable += 1;
            io.out(`  unreadable ${message.MessageId}: ${parked.problem}; it stays in the queue`);
            return "kept";
          }
          const what = `${parked.messageId} (${parked.format}) ${keysText(parked.keys)}`;
          if (parked.replay.action === "keep") {
            totals.kept += 1;
            io.out(`  kept       ${what}: ${parked.replay.why}`);
            return "kept";
          }
          if (reconciled && parked.sentAt && parked.sentAt.getTime() < reconciled.at) {
            if (dryRun) {
              totals.covered += 1;
              io.out(`  would drop ${what}: covered by the run replayed from ${reconciled.messageId}`);
              return "kept";
            }
            const problem = await deleteMessage(sel.clients, queue, message);
            totals[problem ? "failed" : "covered"] += 1;
            io.out(
              problem
                ? `  FAILED     ${what}: covered by ${reconciled.messageId}, but not deleted: ${problem}`
                : `  covered    ${what}: by the run replayed from ${reconciled.messageId}; deleted`,
            );
            return problem ? "kept" : "deleted";
          }
          if (dryRun) {
            totals.replayed += 1;
            io.out(`  would replay ${what}: ${replayText(parked.replay)}`);
            if (queue.reconciles) reconciled = { at: Date.now(), messageId: parked.messageId };
            return "kept";
          }
          const startedAt = Date.now();
          const outcome = await replayMessage(sel.clients, parked.replay);
          if (!outcome.ok) {
            totals.failed += 1;
            io.out(`  FAILED     ${what}: ${outcome.error}; it stays in the queue`);
            return "kept";
          }
          if (queue.reconciles) reconciled = { at: startedAt, messageId: parked.messageId };
          const problem = await deleteMessage(sel.clients, queue, message);
          if (problem) {
            totals.failed += 1;
            io.out(
              `  FAILED     ${what}: replayed (${outcome.detail}), but not deleted: ${problem}; a later replay sends it again, which is safe`,
            );
            return "kept";
          }
          totals.replayed += 1;
          io.out(`  replayed   ${what}: ${outcome.detail}`);
          return "deleted";
        },
      );
      budget -= visited;
      if (visited === 0) io.out("  empty");
    } catch (err) {
      queueErrors += 1;
      io.err((err as Error).message);
    }
  }
  const verb = dryRun ? "would be replayed" : "replayed";
  io.out(
    `${dryRun ? "dry run: " : ""}${totals.replayed} ${verb}, ${totals.covered} covered by a reconciling run, ${totals.failed} failed, ${totals.unreadable} unreadable, ${totals.kept} kept for a person${queueErrors ? `, ${queueErrors} queue(s) not read` : ""}`,
  );
  return totals.failed + totals.unreadable + queueErrors > 0 ? 1 : 0;
}

/** The command, with its output and the environment's clients; returns the exit code. */
export async function main(
  argv: string[],
  io: Io = { out: (l) => void process.stdout.write(`${l}\n`), err: (l) => void process.stderr.write(`${l}\n`) },
): Promise<number> {
  // Records carry users' e-mail addresses: none is printed in clear.
  const printed = io;
  io = { out: (line) => printed.out(maskEmails(line)), err: (line) => printed.err(maskEmails(line)) };
  const lines = { stdout: (text: string) => io.out(text.replace(/\n$/, "")), stderr: (text: string) => io.err(text.replace(/\n$/, "")) };
  const parsed = parseCommandLine(argv, DLQ_COMMAND, lines);
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  const usage = (problem: string) => usageError(DLQ_COMMAND, problem, lines);
  if (!command) return usage("a command is required: list, show or replay");
  if (!["list", "show", "replay"].includes(command)) return usage(`unknown command "${command}"`);
  if (command === "show" ? rest.length !== 1 : rest.length !== 0)
    return usage(command === "show" ? "show takes one message id" : `${command} takes no arguments`);
  if (values["dry-run"] && command !== "replay") return usage("--dry-run is for replay");
  const limit = values.limit === undefined ? Number.MAX_SAFE_INTEGER : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    return usage(`--limit must be a whole number of messages, at least 1 (got ${JSON.stringify(values.limit)})`);
  if (values.stack && values.outputs) return usage("give --stack or --outputs, not both");

  const clients = new Clients();
  try {
    const fromUrlsOnly = values.queue.length > 0 && !values.stack && !values.outputs && values.queue.every((q) => /^https?:\/\//.test(q));
    const all = fromUrlsOnly ? undefined : readOutputs(values);
    const selection: Selection = {
      queues: selectQueues(all, values.queue, values.app, values.function),
      unwrap: { functionName: values.function, resendRefused: values["resend-refused"] },
      limit,
      clients,
      waitSeconds: 1,
    };
    if (selection.queues.length === 0) {
      io.out("no dead-letter queue selected");
      return 0;
    }
    if (command === "list") return await list(selection, values.json, io);
    if (command === "show") return await show(selection, rest[0], io);
    return await replay(selection, values["dry-run"], io);
  } catch (err) {
    if (err instanceof UsageError) return usage(err.message);
    if (err instanceof QueueError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  } finally {
    clients.destroy();
  }
}

if (require.main === module) runMain(() => main(process.argv.slice(2)));
