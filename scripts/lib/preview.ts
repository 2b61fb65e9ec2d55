/**
 * The offline preview (see scripts/preview.ts for its command line): the program's resource
 * tree, outputs, diagram and policy check for a stack run under the mock engine. The tests
 * call it in-process, on the same stack runs they share.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { BUILD_DIR } from "../../components/lambda/bundle";
import { STAGES } from "../../components/platform";
import { ConfigError } from "../../config";
import { checkStack, RULES, type Stage } from "../../policy/rules";
import { type AdoptionReport, adoptionReport, renderChange, unapprovedChanges } from "../../tooling/adoption-report";
import { policyResources, type RecordedResource, type ResourceOptionsRecord, type RunResult, runStack } from "../../tooling/mock-engine";
import { buildDiagram } from "./diagram";

export const USAGE = `usage: npm run preview -- --stack <${STAGES.join("|")}> [--json] [--config <settings.yaml>] [--diagram <file.mmd>]`;

export interface PreviewDocument {
  stack: string;
  resources: {
    urn: string;
    type: string;
    name: string;
    parent: string | null;
    inputs: Record<string, unknown>;
    /** How the engine treats it: its import id (adopted), protect, retainOnDelete, ignoreChanges (kept settings) and aliases. */
    options: ResourceOptionsRecord;
  }[];
  outputs: Record<string, unknown>;
  /** The adopted resources, and what the first `up` would change on them (see tooling/adoption-report.ts). */
  adoption: AdoptionReport;
}

/** What `--json` prints: every resource with its inputs (secrets as "[secret]") and options, the outputs, and the adoption report. */
export function toDocument(run: RunResult, adoption = adoptionReport(run)): PreviewDocument {
  return {
    stack: run.stack,
    resources: run.resources.map((r) => ({ urn: r.urn, type: r.type, name: r.name, parent: r.parent ?? null, inputs: r.inputs, options: r.options })),
    outputs: run.outputs,
    adoption,
  };
}

/** The options worth seeing beside a resource in the tree: `[import <id>, protect, retain, keeps a b, 1 alias]`. */
function optionMarks(r: RecordedResource): string {
  if (r.read) return " [read]";
  const marks = [
    r.options.import ? `import ${r.options.import}` : "",
    r.options.protect ? "protect" : "",
    r.options.retainOnDelete ? "retain" : "",
    r.options.ignoreChanges.length > 0 ? `keeps ${r.options.ignoreChanges.join(" ")}` : "",
    r.options.aliases.length > 0 ? `${r.options.aliases.length} alias${r.options.aliases.length > 1 ? "es" : ""}` : "",
  ].filter(Boolean);
  return marks.length > 0 ? ` [${marks.join(", ")}]` : "";
}

/** The adoption summary: how many resources are imported, and each change the first `up` makes on them. */
function renderAdoption(adoption: AdoptionReport): string {
  if (adoption.adopted.length === 0) return "Adopted: none (this stack creates everything it has)";
  const additions = adoption.changes.filter((c) => c.kind === "addition").length;
  const optedIn = adoption.changes.filter((c) => c.kind === "change" && c.optIn).length;
  const counts = `${adoption.changes.length - additions - optedIn} changes without an opt-in, ${optedIn} opted in, ${additions} additions`;
  return [
    `Adopted: ${adoption.adopted.length} resources. The first \`pulumi up\` imports them: ${counts}${adoption.changes.length > 0 ? ":" : "."}`,
    ...adoption.changes.map((c) => `  - ${renderChange(c)}`),
  ].join("\n");
}

function renderTree(run: RunResult): string {
  const children = new Map<string | undefined, RecordedResource[]>();
  for (const r of run.resources) {
    const siblings = children.get(r.parent) ?? [];
    siblings.push(r);
    children.set(r.parent, siblings);
  }
  const lines: string[] = [];
  const walk = (r: RecordedResource, prefix: string, last: boolean, root: boolean) => {
    lines.push(root ? `${r.type} ${r.name}` : `${prefix}${last ? "└─ " : "├─ "}${r.type} ${r.name}${optionMarks(r)}`);
    const kids = children.get(r.urn) ?? [];
    const next = root ? "" : prefix + (last ? "   " : "│  ");
    kids.forEach((k, i) => walk(k, next, i === kids.length - 1, false));
  };
  for (const root of children.get(undefined) ?? []) walk(root, "", true, true);
  return lines.join("\n");
}

function renderOutputs(outputs: Record<string, unknown>): string {
  const keys = Object.keys(outputs).sort();
  if (keys.length === 0) return "  (none)";
  return keys.map((k) => `  ${k}: ${typeof outputs[k] === "string" ? outputs[k] : JSON.stringify(outputs[k])}`).join("\n");
}

type CheckedViolation = ReturnType<typeof checkStack>[number];

/** The policy pack's rules over the resources `pulumi preview --policy-pack policy` would check. */
export function policyViolations(run: RunResult, stack: string): CheckedViolation[] {
  const stage = (typeof run.outputs.stage === "string" ? run.outputs.stage : stack) as Stage;
  return checkStack(policyResources(run), { stage });
}

/** The human-readable report: tree, outputs, adoption, where the diagram went, and the policy summary. */
export function renderReport(run: RunResult, diagramFile: string, violations: CheckedViolation[], adoption = adoptionReport(run)): string {
  const diagram = buildDiagram(run);
  fs.mkdirSync(path.dirname(diagramFile), { recursive: true });
  fs.writeFileSync(diagramFile, diagram.mermaid);
  const custom = run.resources.filter((r) => !r.read && /^(aws|mongodbatlas|auth0|pulumi-nodejs):/.test(r.type));
  return [
    `Stack ${run.stack}: ${run.resources.length} resources (${custom.length} cloud resources)`,
    "",
    renderTree(run),
    "",
    "Outputs:",
    renderOutputs(run.outputs),
    "",
    renderAdoption(adoption),
    "",
    `Diagram (${diagram.functions} functions, ${diagram.edges} edges): ${path.relative(process.cwd(), diagramFile)}`,
    `Policy: ${violations.length} violations of ${RULES.length} rules`,
    "",
  ].join("\n");
}

/** Where the preview writes: stdout carries only the report (or the JSON document). */
export interface PreviewOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Runs the preview for a command line and returns its exit code. */
export async function preview(argv: string[], out: PreviewOutput): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        stack: { type: "string" },
        json: { type: "boolean", default: false },
        config: { type: "string" },
        diagram: { type: "string" },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (err) {
    out.stderr(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    out.stdout(`${USAGE}\n`);
    return 0;
  }
  if (!args.stack) {
    out.stderr(`--stack is required\n${USAGE}\n`);
    return 2;
  }

  // Only the JSON document may reach stdout in --json mode; the SDK's own messages go to stderr.
  const log = console.log;
  if (args.json) console.log = (...items: unknown[]) => console.error(...items);
  let run: RunResult;
  try {
    run = await runStack(args.stack, { settingsFile: args.config && path.resolve(args.config) });
  } catch (err) {
    // A ConfigError's message names every bad key and its fix; other errors show their message.
    const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
    out.stderr(`preview failed for stack "${args.stack}":\n${message}\n`);
    return 1;
  } finally {
    console.log = log;
  }

  const violations = policyViolations(run, args.stack);
  if (violations.length > 0) {
    out.stderr(
      `policy violations for stack "${args.stack}":\n` +
        violations.map((v) => `  - [${v.enforcementLevel}] ${v.rule}: ${v.message}\n    (${v.urn})`).join("\n") +
        "\n",
    );
  }
  if (violations.some((v) => v.enforcementLevel === "mandatory")) return 1;

  // An adopted resource must be imported unchanged: a change needs its improvement opted in.
  const adoption = adoptionReport(run);
  const unapproved = unapprovedChanges(adoption);
  if (unapproved.length > 0) {
    out.stderr(
      `the first \`pulumi up\` of stack "${args.stack}" would change adopted resources without an opt-in:\n` +
        unapproved.map((c) => `  - ${renderChange(c)}`).join("\n") +
        "\n",
    );
    return 1;
  }

  if (args.json) {
    out.stdout(JSON.stringify(toDocument(run, adoption), null, 2) + "\n");
    return 0;
  }
  out.stdout(renderReport(run, path.resolve(args.diagram ?? path.join(BUILD_DIR, "preview", `${args.stack}.mmd`)), violations, adoption));
  return 0;
}
