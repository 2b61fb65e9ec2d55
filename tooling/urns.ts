/**
 * What test/infra/urns.test.ts compares: each stack's URNs against the snapshot committed in
 * test/infra/urns/<stack>.json. A changed URN is a resource that `pulumi up` would delete and
 * create anew, unless the resource lists its old URN among its `aliases`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../paths";
import type { RecordedResource, RunResult } from "./mock-engine";

export const URN_SNAPSHOTS = path.join(REPO_ROOT, "test", "infra", "urns");

export function snapshotFile(stack: string): string {
  return path.join(URN_SNAPSHOTS, `${stack}.json`);
}

export function readSnapshot(stack: string): string[] {
  return JSON.parse(fs.readFileSync(snapshotFile(stack), "utf8"));
}

/** @public scripts/record-urns.ts loads this module lazily (`require`), which the unused-export check cannot follow. */
export function writeSnapshot(stack: string, urns: string[]): void {
  fs.mkdirSync(URN_SNAPSHOTS, { recursive: true });
  fs.writeFileSync(snapshotFile(stack), `${JSON.stringify(urns, null, 2)}\n`);
}

/** The resources a stack deploys: all but the root stack and what is only read with `.get()`. */
function deployed(run: RunResult): RecordedResource[] {
  return run.resources.filter((r) => !r.read && r.type !== "pulumi:pulumi:Stack");
}

/** The URNs of what a stack deploys, sorted: a snapshot's content. */
export function deployedUrns(run: RunResult): string[] {
  return deployed(run)
    .map((r) => r.urn)
    .sort();
}

export interface UrnChanges {
  /** Snapshotted URNs that no resource has, and that no resource lists among its aliases. */
  missing: string[];
  /** URNs that the snapshot lacks, of resources whose aliases are not in it either. */
  added: string[];
}

export function urnChanges(snapshot: string[], run: RunResult): UrnChanges {
  const resources = deployed(run);
  const current = new Set(resources.flatMap((r) => [r.urn, ...r.options.aliases]));
  const recorded = new Set(snapshot);
  return {
    missing: snapshot.filter((urn) => !current.has(urn)),
    added: resources
      .filter((r) => !recorded.has(r.urn) && !r.options.aliases.some((alias) => recorded.has(alias)))
      .map((r) => r.urn)
      .sort(),
  };
}
