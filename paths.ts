/**
 * The repository's paths, for the program, the tooling, the scripts and the tests.
 * Dependency-free, so that any of them can import it without pulling in the bundler or the
 * mock engine.
 */
import * as path from "node:path";

/** The repository root: every handler path and every path the scripts print is relative to it. */
export const REPO_ROOT = path.resolve(__dirname);
/** The handlers' runtime code: `handlers/<app>/functions/<handler>.ts` is one Lambda. */
export const HANDLERS_DIR = path.join(REPO_ROOT, "handlers");
/** Bundles, image contexts and diagrams the program and the scripts build (not committed). */
export const BUILD_DIR = path.join(REPO_ROOT, ".build");
/** The Pulumi program. */
export const PROGRAM_FILE = path.join(REPO_ROOT, "index.ts");
/** Real event payloads, copied from the originals' fixtures. */
export const PAYLOADS_DIR = path.join(REPO_ROOT, "test", "fixtures", "payloads");
/** The GitHub workflows. */
export const WORKFLOWS_DIR = path.join(REPO_ROOT, ".github", "workflows");

/** A stack's settings file, `Pulumi.<stack>.yaml`. */
export function stackSettingsFile(stack: string): string {
  return path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
}
