/**
 * Bundles a handler with esbuild into one minified CommonJS file. Used by NodeFunction at
 * deploy time, by the image variant's build context, by `npm run invoke` and by the bench.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";

/** The repository root: every handler path is resolved against it. */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const HANDLERS_DIR = path.join(REPO_ROOT, "handlers");
export const BUILD_DIR = path.join(REPO_ROOT, ".build");

/** Lambda loads `index.js` and calls its `handler` export. */
export const BUNDLE_FILE = "index.js";
export const LAMBDA_HANDLER = "index.handler";
export const NODE_TARGET = "node22";

/**
 * Optional dependencies of the mongodb driver that it loads only when a connection string
 * asks for them (Kerberos, compression, client-side encryption). They are not installed, and
 * must not fail the bundle.
 */
const OPTIONAL_NATIVE_MODULES = [
  "kerberos",
  "@mongodb-js/zstd",
  "snappy",
  "mongodb-client-encryption",
  "gcp-metadata",
  "socks",
  "aws4",
  "@aws-sdk/credential-providers",
];

export interface BundleOptions {
  /** The function's folder under handlers/; its `index.ts` is the entry. */
  handler: string;
  /** Another entry file, relative to the repository root (tests use fixtures). */
  entry?: string;
  /** Output folder; defaults to `.build/functions/<handler>`. Give each function its own. */
  outdir?: string;
  /**
   * Leave the AWS SDK out of the bundle and load the one the nodejs22.x runtime provides.
   * For handlers whose other dependencies (the mongodb driver) would otherwise pass the
   * 700 KB budget; the others bundle the SDK so that its version is the tested one.
   */
  runtimeAwsSdk?: boolean;
}

/** What the nodejs22.x runtime provides: the AWS SDK v3 and the Smithy packages it is built on. */
export const RUNTIME_PROVIDED = ["@aws-sdk/*", "@smithy/*"];

export interface Bundle {
  /** Folder that holds only the bundle. */
  dir: string;
  /** Absolute path of the bundle file. */
  file: string;
  /** Lambda's handler setting for this bundle. */
  handler: string;
  /** sha256 (hex) of the bundle's bytes: the same source gives the same hash. */
  sha256: string;
  /** Minified size in bytes. */
  bytes: number;
  /** esbuild's metafile (inputs per output), with paths relative to the repository root. */
  metafile: esbuild.Metafile;
}

/** The entry file of a handler, relative to the repository root. */
export function handlerEntry(handler: string): string {
  return path.posix.join("handlers", handler, "index.ts");
}

/** Names of every function under handlers/ (each folder with an index.ts, except lib). */
export function listHandlers(): string[] {
  if (!fs.existsSync(HANDLERS_DIR)) return [];
  return fs
    .readdirSync(HANDLERS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== "lib" && fs.existsSync(path.join(HANDLERS_DIR, d.name, "index.ts")))
    .map((d) => d.name)
    .sort();
}

/** esbuild options shared by every bundle; exported so that the bench measures the same build. */
export function buildOptions(entry: string, options: { runtimeAwsSdk?: boolean } = {}): esbuild.BuildOptions & { metafile: true; write: false } {
  return {
    absWorkingDir: REPO_ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: NODE_TARGET,
    format: "cjs",
    minify: true,
    // Prefer ES module builds of dependencies: they tree-shake far better.
    mainFields: ["module", "main"],
    legalComments: "none",
    charset: "utf8",
    external: [...OPTIONAL_NATIVE_MODULES, ...(options.runtimeAwsSdk ? RUNTIME_PROVIDED : [])],
    alias: { "whatwg-url": path.join(REPO_ROOT, "components", "lambda", "shims", "whatwg-url.ts") },
    metafile: true,
    write: false,
    logLevel: "silent",
  };
}

/** Writes a file so that a concurrent reader sees either the old or the new bytes, never a mix. */
function writeAtomically(file: string, contents: Uint8Array): void {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(temp, contents);
  fs.renameSync(temp, file);
}

/**
 * Bundles one handler synchronously (Pulumi components are constructed synchronously) and
 * writes it to its own folder.
 */
export function bundleHandler(options: BundleOptions): Bundle {
  const entry = options.entry ?? handlerEntry(options.handler);
  if (!fs.existsSync(path.resolve(REPO_ROOT, entry))) {
    throw new Error(`handler "${options.handler}": entry ${entry} does not exist`);
  }
  let result: esbuild.BuildResult<{ metafile: true; write: false }>;
  try {
    result = esbuild.buildSync({ ...buildOptions(entry, options), outfile: BUNDLE_FILE });
  } catch (err) {
    const errors = (err as { errors?: esbuild.Message[] }).errors ?? [];
    const detail = errors.map((e) => `${e.location?.file ?? entry}:${e.location?.line ?? 0}: ${e.text}`).join("\n");
    throw new Error(`handler "${options.handler}": bundling ${entry} failed\n${detail || String(err)}`);
  }
  const output = result.outputFiles.find((f) => path.basename(f.path) === BUNDLE_FILE);
  if (!output) throw new Error(`handler "${options.handler}": esbuild produced no ${BUNDLE_FILE}`);

  const dir = options.outdir ?? path.join(BUILD_DIR, "functions", options.handler);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, BUNDLE_FILE);
  writeAtomically(file, output.contents);
  return {
    dir,
    file,
    handler: LAMBDA_HANDLER,
    sha256: createHash("sha256").update(output.contents).digest("hex"),
    bytes: output.contents.byteLength,
    metafile: result.metafile,
  };
}
