/**
 * Bundles handlers with esbuild into one minified CommonJS file each. Used by NodeFunction
 * and the image variant at deploy time, by `npm run invoke` and by the bench.
 *
 * Bundles are content-addressed (`.build/bundles/<sha256>/index.js`) and cached: a bundle is
 * rebuilt only when one of its input files, its build options, esbuild or the lockfile
 * changed. The program asks for its bundles with `bundleSoon`, which builds every bundle
 * asked for in the same turn of the event loop with one esbuild call.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";
import { BUILD_DIR, HANDLERS_DIR, REPO_ROOT } from "../../paths";
import { NODE_MAJOR } from "./runtime";

const BUNDLES_DIR = path.join(BUILD_DIR, "bundles");
const CACHE_DIR = path.join(BUNDLES_DIR, "cache");

/** Lambda loads `index.js` and calls its `handler` export. */
export const BUNDLE_FILE = "index.js";
export const LAMBDA_HANDLER = "index.handler";
export const NODE_TARGET = `node${NODE_MAJOR}`;

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

/** What the nodejs22.x runtime provides: the AWS SDK v3 and the Smithy packages it is built on. */
export const RUNTIME_PROVIDED = ["@aws-sdk/*", "@smithy/*"];

/** Where a function's code lives: `handlers/<app>/functions/<function>.ts`. */
const FUNCTIONS_FOLDER = "functions";

export interface BundleRequest {
  /** The function's name: its entry is `handlers/<app>/functions/<handler>.ts`. */
  handler: string;
  /** Another entry file, relative to the repository root (tests use fixtures). */
  entry?: string;
  /**
   * Leave the AWS SDK out of the bundle and load the one the nodejs22.x runtime provides.
   * The zip is smaller, but loading resolves the runtime's SDK module by module: measured on
   * iota-records, 183 ms against 124 ms bundled. Bundling also runs the tested SDK version.
   */
  runtimeAwsSdk?: boolean;
}

export interface Bundle {
  /** Folder that holds only the bundle (shared by every function with the same bytes). */
  dir: string;
  /** Absolute path of the bundle file. */
  file: string;
  /** Lambda's handler setting for this bundle. */
  handler: string;
  /** sha256 (hex) of the bundle's bytes: the same source gives the same hash. */
  sha256: string;
  /** Minified size in bytes. */
  bytes: number;
  /** esbuild's metafile for this bundle alone, with paths relative to the repository root. */
  metafile: esbuild.Metafile;
}

/** Every function entry: `handlers/<app>/functions/<name>.ts`, by function name. */
function functionEntries(): Map<string, string> {
  const entries = new Map<string, string>();
  if (!fs.existsSync(HANDLERS_DIR)) return entries;
  for (const app of fs.readdirSync(HANDLERS_DIR, { withFileTypes: true })) {
    const folder = path.join(HANDLERS_DIR, app.name, FUNCTIONS_FOLDER);
    if (!app.isDirectory() || !fs.existsSync(folder)) continue;
    for (const file of fs.readdirSync(folder)) {
      if (!file.endsWith(".ts")) continue;
      const name = file.slice(0, -".ts".length);
      const entry = path.posix.join("handlers", app.name, FUNCTIONS_FOLDER, file);
      const other = entries.get(name);
      if (other) throw new Error(`function "${name}" is defined twice: ${other} and ${entry}`);
      entries.set(name, entry);
    }
  }
  return entries;
}

/** The entry file of a function, relative to the repository root. */
export function handlerEntry(handler: string): string {
  const entry = functionEntries().get(handler);
  if (!entry) throw new Error(`handler "${handler}": there is no handlers/<app>/${FUNCTIONS_FOLDER}/${handler}.ts`);
  return entry;
}

/** Names of every function under handlers/, sorted. */
export function listHandlers(): string[] {
  return [...functionEntries().keys()].sort();
}

/**
 * AWS SDK clients import their whole package.json to read one field, the version they put in
 * the User-Agent header; each would add 2-3 KB of manifest to the bundle.
 */
const sdkManifestVersionOnly: esbuild.Plugin = {
  name: "sdk-manifest-version-only",
  setup(build) {
    build.onLoad({ filter: /[\\/]@aws-sdk[\\/]client-[a-z0-9-]+[\\/]package\.json$/ }, async (args) => {
      const { name, version } = JSON.parse(await fs.promises.readFile(args.path, "utf8"));
      return { contents: JSON.stringify({ name, version }), loader: "json" };
    });
  },
};

const SHIMS_DIR = path.join(REPO_ROOT, "components", "lambda", "shims");

/**
 * Parts of the AWS SDK that every client brings and no function runs, replaced by small
 * modules (see each shim for when the part would run, and what happens then): about 25 KB
 * of each bundle with an SDK client (alma-webhook's SNS client, skill-sync's S3 client).
 */
const sdkTrims: esbuild.Plugin = {
  name: "sdk-trims",
  setup(build) {
    const from = (importer: RegExp, file: string) => (args: esbuild.OnResolveArgs) =>
      importer.test(args.importer.replace(/\\/g, "/")) ? { path: path.join(SHIMS_DIR, file) } : undefined;
    // Event streams, as @smithy/core's HTTP protocols import them lazily. The S3 and Lambda
    // clients import them too, to set up streaming operations: those keep the real module.
    build.onResolve(
      { filter: /^@smithy\/core\/event-streams$/ },
      from(/\/@smithy\/core\/dist-[a-z]+\/submodules\/protocols\/HttpProtocol\.js$/, "event-streams.ts"),
    );
    // JavaScript fallbacks of hashes Node has natively, in @smithy/core's checksum module.
    build.onResolve(
      { filter: /(^|\/)(Sha256Js|Md5Js|Crc32Js)(\.js)?$/ },
      from(/\/@smithy\/core\/dist-[a-z]+\/submodules\/checksum\//, "js-hash.ts"),
    );
  },
};

/**
 * The SDK clients' endpoint rules, which handlers/lib/aws-json.ts imports by file path
 * (`@aws-sdk/client-dynamodb/dist-es/endpoint/...`): always bundled, even when the rest of the
 * SDK is left to the runtime, whose copy is another version and would not load an ES module
 * file by path from CommonJS.
 */
const sdkFilesBundled: esbuild.Plugin = {
  name: "sdk-files-bundled",
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/[^/]+\/dist-es\// }, (args) => ({
      path: require.resolve(args.path, { paths: [args.resolveDir] }),
    }));
  },
};

/** esbuild options shared by every bundle; exported so that tests check what is built. */
export function buildOptions(options: { runtimeAwsSdk?: boolean } = {}): esbuild.BuildOptions & { metafile: true; write: false } {
  return {
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: "node",
    target: NODE_TARGET,
    format: "cjs",
    minify: true,
    // Prefer ES module builds of dependencies: they tree-shake far better.
    mainFields: ["module", "main"],
    legalComments: "none",
    charset: "utf8",
    // `import("node:http")` (the SDK's HTTP handler loads it lazily) would start Node's ES module
    // loader in a CommonJS bundle, and its facade of node:http loads undici: about 10 ms of CPU
    // on the first request. As `require`, the module is simply loaded.
    supported: { "dynamic-import": false },
    external: [...OPTIONAL_NATIVE_MODULES, ...(options.runtimeAwsSdk ? RUNTIME_PROVIDED : [])],
    alias: {
      "whatwg-url": path.join(SHIMS_DIR, "whatwg-url.ts"),
      // A Lambda gets its credentials from the environment; see the shim for what is left out.
      "@aws-sdk/credential-provider-node": path.join(SHIMS_DIR, "credential-provider-node.ts"),
    },
    plugins: [sdkManifestVersionOnly, sdkTrims, sdkFilesBundled],
    metafile: true,
    write: false,
    logLevel: "silent",
  };
}

// ---------------------------------------------------------------------------------------------
// The cache: one record per entry and options, valid while every input file has the same bytes.

interface CacheRecord {
  sha256: string;
  bytes: number;
  /** sha256 of every input file, by path relative to the repository root. */
  inputs: Record<string, string>;
  metafile: esbuild.Metafile;
}

const sha256Of = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

/**
 * Everything that decides a bundle's bytes besides its input files' contents: this file
 * too, since its plugins do not show in the options.
 */
function cacheKey(entry: string, runtimeAwsSdk: boolean): string {
  return sha256Of(
    JSON.stringify({
      esbuild: esbuild.version,
      entry,
      options: buildOptions({ runtimeAwsSdk }),
      lockfile: fileSha256("package-lock.json"),
      bundler: fileSha256(path.relative(REPO_ROOT, __filename)),
    }),
  );
}

const fileHashes = new Map<string, { mtimeMs: number; size: number; sha256: string }>();

/** A file's sha256, remembered while its size and modification time stay the same. */
function fileSha256(relative: string): string | null {
  const file = path.join(REPO_ROOT, relative);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return null;
  }
  const known = fileHashes.get(file);
  if (known && known.mtimeMs === stat.mtimeMs && known.size === stat.size) return known.sha256;
  const sha256 = sha256Of(fs.readFileSync(file));
  fileHashes.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, sha256 });
  return sha256;
}

function bundleAt(record: CacheRecord): Bundle {
  const dir = path.join(BUNDLES_DIR, record.sha256);
  return {
    dir,
    file: path.join(dir, BUNDLE_FILE),
    handler: LAMBDA_HANDLER,
    sha256: record.sha256,
    bytes: record.bytes,
    metafile: record.metafile,
  };
}

/** Cache records read in this process, by key: a program run or a test file asks for each bundle many times. */
const records = new Map<string, CacheRecord>();

/** The cached bundle, if every input still has the bytes it was built from. */
function cached(key: string): Bundle | undefined {
  let record = records.get(key);
  if (!record) {
    try {
      record = JSON.parse(fs.readFileSync(path.join(CACHE_DIR, `${key}.json`), "utf8")) as CacheRecord;
    } catch {
      return undefined;
    }
  }
  for (const [input, sha256] of Object.entries(record.inputs)) {
    if (fileSha256(input) !== sha256) return undefined;
  }
  const bundle = bundleAt(record);
  if (!fs.existsSync(bundle.file)) return undefined;
  records.set(key, record);
  bundleCounters.cacheHits += 1;
  return bundle;
}

/** What this process's bundling did, for the tests: bundles served from the cache, esbuild calls, bundles built. */
export const bundleCounters = { cacheHits: 0, esbuildCalls: 0, builtEntries: 0 };

/** Writes a file so that a concurrent reader sees either the old or the new bytes, never a mix. */
function writeAtomically(file: string, contents: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(temp, contents);
  fs.renameSync(temp, file);
}

/** Stores one output of a build and its cache record, and returns its bundle. */
function store(key: string, contents: Uint8Array, metafile: esbuild.Metafile): Bundle {
  const inputs: Record<string, string> = {};
  for (const input of Object.keys(metafile.inputs)) {
    // esbuild's virtual modules (for example `(disabled):fs`) have no file to hash.
    const sha256 = fileSha256(input);
    if (sha256) inputs[input] = sha256;
  }
  const record: CacheRecord = { sha256: sha256Of(contents), bytes: contents.byteLength, inputs, metafile };
  const bundle = bundleAt(record);
  if (!fs.existsSync(bundle.file)) writeAtomically(bundle.file, contents);
  writeAtomically(path.join(CACHE_DIR, `${key}.json`), JSON.stringify(record));
  records.set(key, record);
  return bundle;
}

/** The part of a multi-entry metafile that one output was built from. */
function metafileOf(metafile: esbuild.Metafile, outputPath: string): esbuild.Metafile {
  const output = metafile.outputs[outputPath];
  return {
    inputs: Object.fromEntries(Object.keys(output.inputs).map((input) => [input, metafile.inputs[input]])),
    outputs: { [outputPath]: output },
  };
}

function buildFailure(handler: string, entry: string, err: unknown): Error {
  const errors = (err as { errors?: esbuild.Message[] }).errors ?? [];
  const detail = errors.map((e) => `${e.location?.file ?? entry}:${e.location?.line ?? 0}: ${e.text}`).join("\n");
  return new Error(`handler "${handler}": bundling ${entry} failed\n${detail || String(err)}`);
}

// ---------------------------------------------------------------------------------------------
// Building.

interface Job {
  request: BundleRequest;
  entry: string;
  key: string;
}

function jobOf(request: BundleRequest): Job {
  const entry = request.entry ?? handlerEntry(request.handler);
  if (!fs.existsSync(path.resolve(REPO_ROOT, entry))) {
    throw new Error(`handler "${request.handler}": entry ${entry} does not exist`);
  }
  return { request, entry, key: cacheKey(entry, Boolean(request.runtimeAwsSdk)) };
}

/** esbuild writes nothing (write: false); outputs are named under this folder by job index. */
const OUT_BASE = ".build/bundles/out";

/** Bundles one handler, from the cache when its inputs have not changed. */
export async function bundleHandler(request: BundleRequest): Promise<Bundle> {
  return (await bundleHandlers([request]))[0];
}

/** Builds a group of handlers with the same options in one esbuild call. */
async function build(jobs: Job[], runtimeAwsSdk: boolean): Promise<Bundle[]> {
  bundleCounters.esbuildCalls += 1;
  bundleCounters.builtEntries += jobs.length;
  const result = await esbuild.build({
    ...buildOptions({ runtimeAwsSdk }),
    entryPoints: jobs.map((job, i) => ({ in: job.entry, out: String(i) })),
    outdir: OUT_BASE,
  });
  return jobs.map((job, i) => {
    const outputPath = `${OUT_BASE}/${i}.js`;
    const contents = result.outputFiles.find((f) => path.relative(REPO_ROOT, f.path) === outputPath)?.contents;
    if (!contents) throw new Error(`handler "${job.request.handler}": esbuild produced no ${outputPath}`);
    return store(job.key, contents, metafileOf(result.metafile, outputPath));
  });
}

/**
 * Bundles handlers with one esbuild call per set of options for those the cache does not
 * hold. When that call fails, each handler is built alone, so that the error names its own.
 */
export function bundleHandlers(requests: BundleRequest[]): Promise<Bundle[]> {
  return bundleJobs(requests.map(jobOf));
}

async function bundleJobs(jobs: Job[]): Promise<Bundle[]> {
  const bundles = new Map<string, Bundle>();
  const missing = new Map<string, Job>();
  for (const job of jobs) {
    const known = cached(job.key);
    if (known) bundles.set(job.key, known);
    else missing.set(job.key, job);
  }
  for (const runtimeAwsSdk of [false, true]) {
    const group = [...missing.values()].filter((job) => Boolean(job.request.runtimeAwsSdk) === runtimeAwsSdk);
    if (group.length === 0) continue;
    let built: Bundle[];
    try {
      built = await build(group, runtimeAwsSdk);
    } catch (err) {
      if (group.length === 1) throw buildFailure(group[0].request.handler, group[0].entry, err);
      built = [];
      for (const job of group) built.push(...(await bundleJobs([job])));
    }
    group.forEach((job, i) => bundles.set(job.key, built[i]));
  }
  return jobs.map((job) => bundles.get(job.key)!);
}

let pending: { job: Job; resolve: (b: Bundle) => void; reject: (e: unknown) => void }[] = [];

/**
 * A bundle for the program: requests made in the same turn of the event loop (every
 * component of a stack is constructed synchronously) are built together. The entry is
 * checked now, so that a missing handler fails where it is named.
 */
export function bundleSoon(request: BundleRequest): Promise<Bundle> {
  const job = jobOf(request);
  return new Promise((resolve, reject) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push({ job, resolve, reject });
  });
}

function flush(): void {
  const batch = pending;
  pending = [];
  bundleJobs(batch.map((p) => p.job)).then(
    (bundles) => batch.forEach((p, i) => p.resolve(bundles[i])),
    // One broken handler must not fail the others: each gets its own bundle or its own error.
    () => batch.forEach((p) => bundleJobs([p.job]).then(([bundle]) => p.resolve(bundle), p.reject)),
  );
}
