/**
 * The offline preview (see scripts/preview.ts for its command line): the program's resource
 * tree, outputs, diagram and policy check for a stack run under the mock engine. The tests
 * call it in-process, on the same stack runs they share.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkStack, RULES, type Stage } from "../../policy/rules";
import { type AdoptionReport, adoptionReport, renderChange, unapprovedChanges } from "../../tooling/adoption-report";
import {
  type MissingSecret,
  policyResources,
  type RecordedResource,
  type ResourceOptionsRecord,
  type RunResult,
  runStack,
  SettingsFileError,
} from "../../tooling/mock-engine";
import { type CommandOutput, parseCommandLine, usageError } from "./cli";
import { PREVIEW_COMMAND } from "./preview-command";
import { buildDiagram } from "./diagram";
import { BUILD_DIR } from "../../paths";

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
  /** The secrets the enabled apps need that the settings file lacks: the preview used a placeholder for each. */
  missingSecrets: MissingSecret[];
}

/** What `--json` prints: every resource with its inputs (secrets as "[secret]") and options, the outputs, and the adoption report. */
export function toDocument(run: RunResult, adoption = adoptionReport(run)): PreviewDocument {
  return {
    stack: run.stack,
    resources: run.resources.map((r) => ({
      urn: r.urn,
      type: r.type,
      name: r.name,
      parent: r.parent ?? null,
      inputs: r.inputs,
      options: r.options,
    })),
    outputs: run.outputs,
    adoption,
    missingSecrets: run.settings?.missingSecrets ?? [],
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

/** The diagram could not be written: the message names the file and why, on one line. */
export class DiagramWriteError extends Error {}

const WRITE_FAILURES: Record<string, string> = {
  ENOTDIR: "a folder in its path is a file",
  EEXIST: "a folder in its path is a file",
  EISDIR: "it is a folder",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "the file system is read-only",
  ENOSPC: "no space left on the device",
};

const shownPath = (file: string) => (path.relative(process.cwd(), file).startsWith("..") ? file : path.relative(process.cwd(), file));

function writeFailure(file: string, err: unknown): DiagramWriteError {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  return new DiagramWriteError(`cannot write the diagram to ${shownPath(file)}: ${WRITE_FAILURES[code] ?? (err as Error).message}`);
}

/**
 * Why the diagram cannot be written to `file`, found before the stack runs (a run takes
 * seconds): a folder on its path that is a file, the file a folder, or no write permission.
 */
export function diagramTargetProblem(file: string): DiagramWriteError | undefined {
  let existing = file;
  while (!fs.existsSync(existing)) existing = path.dirname(existing);
  const stat = fs.statSync(existing);
  if (existing === file) {
    if (stat.isDirectory()) return writeFailure(file, Object.assign(new Error(), { code: "EISDIR" }));
  } else if (!stat.isDirectory()) {
    return new DiagramWriteError(`cannot write the diagram to ${shownPath(file)}: ${shownPath(existing)} is a file, not a folder`);
  }
  try {
    fs.accessSync(existing, fs.constants.W_OK);
  } catch (err) {
    return writeFailure(file, err);
  }
  return undefined;
}

/** Writes the run's Mermaid diagram to `file`; a failure is a DiagramWriteError. */
export function writeDiagram(run: RunResult, file: string): { functions: number; edges: number } {
  const diagram = buildDiagram(run);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, diagram.mermaid);
  } catch (err) {
    throw writeFailure(file, err);
  }
  return diagram;
}

/**
 * The secrets the settings file lacks, one `pulumi config set --secret` command each. Not an
 * error: the preview ran with placeholders, and `pulumi up` would stop on them.
 */
export function renderMissingSecrets(run: RunResult): string[] {
  const missing = run.settings?.missingSecrets ?? [];
  if (missing.length === 0) return [];
  const file = shownPath(run.settings!.file);
  const esc =
    run.settings!.environments.length > 0 ? ` (unless the ESC environment ${run.settings!.environments.join(", ")} gives them)` : "";
  const width = Math.max(...missing.map((m) => m.command.length));
  return [
    `Missing secrets: ${missing.length} that the enabled apps need are not in ${file}${esc}. The preview used a placeholder for each; \`pulumi up\` needs them set:`,
    ...missing.map((m) => `  ${m.command.padEnd(width)}  # ${m.app}: ${m.description}`),
  ];
}

/** The human-readable report: tree, outputs, adoption, where the diagram went, the policy summary and the missing secrets. */
export function renderReport(run: RunResult, diagramFile: string, violations: CheckedViolation[], adoption = adoptionReport(run)): string {
  const diagram = writeDiagram(run, diagramFile);
  const custom = run.resources.filter((r) => !r.read && /^(aws|mongodbatlas|auth0|pulumi-nodejs):/.test(r.type));
  const missing = renderMissingSecrets(run);
  return [
    `Stack ${run.stack}: ${run.resources.length} resources (${custom.length} cloud resources)${missing.length > 0 ? `; ${run.settings!.missingSecrets.length} secrets missing, listed at the end` : ""}`,
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
    ...(missing.length > 0 ? ["", ...missing] : []),
    "",
  ].join("\n");
}

/** Where the preview writes: stdout carries only the report (or the JSON document). */
export type PreviewOutput = CommandOutput;

/** Runs the preview for a command line and returns its exit code. */
export async function preview(argv: string[], out: PreviewOutput): Promise<number> {
  const parsed = parseCommandLine(argv, PREVIEW_COMMAND, out);
  if (typeof parsed === "number") return parsed;
  const args = parsed.values;
  if (!args.stack) return usageError(PREVIEW_COMMAND, "--stack is required", out);
  const diagramFile = path.resolve(args.diagram ?? path.join(BUILD_DIR, "preview", `${args.stack}.mmd`));
  if (!args.json) {
    const problem = diagramTargetProblem(diagramFile);
    if (problem) {
      out.stderr(`${problem.message}\n`);
      return 1;
    }
  }

  // Only the JSON document may reach stdout in --json mode; the SDK's own messages go to stderr.
  const log = console.log;
  if (args.json) console.log = (...items: unknown[]) => console.error(...items);
  let run: RunResult;
  try {
    run = await runStack(args.stack, { settingsFile: args.config && path.resolve(args.config) });
  } catch (err) {
    // A settings file that cannot be read names itself; a ConfigError names every bad key and its fix.
    if (err instanceof SettingsFileError) {
      out.stderr(`${err.message}\n`);
      return 1;
    }
    out.stderr(`preview failed for stack "${args.stack}":\n${err instanceof Error ? err.message : String(err)}\n`);
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
    out.stdout(`${JSON.stringify(toDocument(run, adoption), null, 2)}\n`);
    return 0;
  }
  let report: string;
  try {
    report = renderReport(run, diagramFile, violations, adoption);
  } catch (err) {
    if (!(err instanceof DiagramWriteError)) throw err;
    out.stderr(`${err.message}\n`);
    return 1;
  }
  out.stdout(report);
  return 0;
}
