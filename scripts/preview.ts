/**
 * Offline preview: runs the real program with a stack's real config under Pulumi's mock
 * engine (no cloud credentials, no Pulumi CLI) and shows what `pulumi up` would deploy.
 *
 *   npm run preview -- --stack dev            resource tree, outputs, Mermaid diagram
 *   npm run --silent preview -- --stack dev --json
 *                                             one JSON document: {stack, resources, outputs}
 *   npm run preview -- --stack dev --config my.yaml
 *                                             try another settings file as that stack's
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { BUILD_DIR } from "../components/lambda/bundle";
import { ConfigError } from "../config";
import { checkStack, RULES, type Stage } from "../policy/rules";
import { policyResources, type RecordedResource, type RunResult, runStack } from "../tooling/mock-engine";
import { buildDiagram } from "./lib/diagram";
import { runMain } from "./lib/main";

const USAGE = "usage: npm run preview -- --stack <dev|staging|prod> [--json] [--config <settings.yaml>] [--diagram <file.mmd>]";

export interface PreviewDocument {
  stack: string;
  resources: { urn: string; type: string; name: string; parent: string | null; inputs: Record<string, unknown> }[];
  outputs: Record<string, unknown>;
}

export function toDocument(run: RunResult): PreviewDocument {
  return {
    stack: run.stack,
    resources: run.resources.map((r) => ({ urn: r.urn, type: r.type, name: r.name, parent: r.parent ?? null, inputs: r.inputs })),
    outputs: run.outputs,
  };
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
    lines.push(root ? `${r.type} ${r.name}` : `${prefix}${last ? "└─ " : "├─ "}${r.type} ${r.name}`);
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

async function main(argv: string[]): Promise<number> {
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
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!args.stack) {
    process.stderr.write(`--stack is required\n${USAGE}\n`);
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
    process.stderr.write(`preview failed for stack "${args.stack}":\n${message}\n`);
    return 1;
  } finally {
    console.log = log;
  }

  // The policy pack's rules, over the same resources `pulumi preview --policy-pack policy` would check.
  const stage = (typeof run.outputs.stage === "string" ? run.outputs.stage : args.stack) as Stage;
  const violations = checkStack(policyResources(run), { stage });
  const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
  if (violations.length > 0) {
    process.stderr.write(
      `policy violations for stack "${args.stack}":\n` +
        violations.map((v) => `  - [${v.enforcementLevel}] ${v.rule}: ${v.message}\n    (${v.urn})`).join("\n") +
        "\n",
    );
  }
  if (mandatory.length > 0) return 1;

  if (args.json) {
    process.stdout.write(JSON.stringify(toDocument(run), null, 2) + "\n");
    return 0;
  }

  const diagram = buildDiagram(run);
  const diagramFile = path.resolve(args.diagram ?? path.join(BUILD_DIR, "preview", `${args.stack}.mmd`));
  fs.mkdirSync(path.dirname(diagramFile), { recursive: true });
  fs.writeFileSync(diagramFile, diagram.mermaid);
  const custom = run.resources.filter((r) => !r.read && /^(aws|mongodbatlas|auth0|pulumi-nodejs):/.test(r.type));
  process.stdout.write(
    [
      `Stack ${args.stack}: ${run.resources.length} resources (${custom.length} cloud resources)`,
      "",
      renderTree(run),
      "",
      "Outputs:",
      renderOutputs(run.outputs),
      "",
      `Diagram (${diagram.functions} functions, ${diagram.edges} edges): ${path.relative(process.cwd(), diagramFile)}`,
      `Policy: ${violations.length} violations of ${RULES.length} rules`,
      "",
    ].join("\n"),
  );
  return 0;
}

runMain(() => main(process.argv.slice(2)), (err) => err.stack ?? err.message);
