/**
 * `npm test`: checks the prerequisites of the selected test files, type-checks, then runs
 * mocha over those files (every `test/**\/*.test.ts` when none is named).
 *
 *   npm test
 *   npm test -- <file|directory|glob>... [--grep <pattern>] [--no-typecheck] [any mocha flag]
 *
 * Node runs this file itself, stripping its types (no tsx): it starts in tens of
 * milliseconds, so that a missing MySQL server is reported within the first second, before
 * the type check and before mocha loads any suite. It imports nothing but Node's modules.
 * mocha's settings stay in .mocharc.json, which names no files: `npx mocha <file>` runs
 * that file alone.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

const ROOT = path.resolve(path.dirname(process.argv[1]), "..");
const DEFAULT_SPEC = "test/**/*.test.ts";
/** Where the type check keeps what it knows between runs: tsconfig.json's outDir (`.build/` is git-ignored). */
const TSBUILDINFO = ".build/tsc/tsconfig.tsbuildinfo";
/** Rewritten by every `npm ci` or `npm install`. */
const INSTALL_STAMP = "node_modules/.package-lock.json";

const MYSQL_URL_DEFAULT = "mysql://root@127.0.0.1:3306/test";
/** How long the MySQL server may take to greet us before we call it absent. */
const MYSQL_PROBE_MS = 700;

const USAGE = `usage: npm test -- [<file|directory|glob>...] [--grep <pattern>] [--no-typecheck] [mocha flags]

  (no files)        every ${DEFAULT_SPEC}
  <file>...         only these test files (directories: every *.test.ts under them)
  --grep <pattern>  only the tests whose full title matches (mocha's -g; --fgrep for a plain string)
  --no-typecheck    skip the type check (\`tsc --build --noEmit\`: it keeps ${TSBUILDINFO} and
                    takes half a second when no file changed since it passed)
  --help            this text

Other flags go to mocha as they are (\`npx mocha --help\` lists them); .mocharc.json holds its settings.
\`npx mocha <file>\` runs one file too, without the type check or the prerequisite checks.

Test files that use tooling/local/mysql.ts or start scripts/local.ts need a MySQL server at
MYSQL_URL (default ${MYSQL_URL_DEFAULT}); the others run without one.
MongoDB-backed tests run only when MONGODB_URI names a replica set; they are reported as pending otherwise.
NO_COLOR=1 turns mocha's colours off.`;

/** mocha's flags that take a value (lib/cli/run-option-metadata.cjs), so that the value is not taken for a file. */
const MOCHA_VALUE_FLAGS = new Set([
  "--config",
  "--extension",
  "--fgrep",
  "-f",
  "--file",
  "--global",
  "--globals",
  "--grep",
  "-g",
  "--ignore",
  "--exclude",
  "--jobs",
  "-j",
  "--node-option",
  "-n",
  "--package",
  "--reporter",
  "-R",
  "--reporter-option",
  "--reporter-options",
  "-O",
  "--require",
  "-r",
  "--retries",
  "--slow",
  "-s",
  "--spec",
  "--timeout",
  "-t",
  "--timeouts",
  "--ui",
  "-u",
  "--watch-files",
  "--watch-ignore",
]);

interface Invocation {
  help: boolean;
  typecheck: boolean;
  /** The files, directories and globs named, in order (`--spec` values included). */
  specs: string[];
  /** What mocha gets: the arguments as given, less this script's own. */
  mochaArgs: string[];
}

function parseArgs(argv: string[]): Invocation {
  const invocation: Invocation = { help: false, typecheck: true, specs: [], mochaArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") invocation.help = true;
    else if (arg === "--no-typecheck") invocation.typecheck = false;
    else if (MOCHA_VALUE_FLAGS.has(arg) && i + 1 < argv.length) {
      if (arg === "--spec") invocation.specs.push(argv[i + 1]);
      invocation.mochaArgs.push(arg, argv[++i]);
    } else {
      if (arg.startsWith("--spec=")) invocation.specs.push(arg.slice("--spec=".length));
      else if (!arg.startsWith("-")) invocation.specs.push(arg);
      invocation.mochaArgs.push(arg);
    }
  }
  return invocation;
}

const isGlob = (spec: string) => /[*?[\]{}]/.test(spec);

/** The test files the specs select, relative to the repository; throws naming a spec that selects nothing. */
function selectedFiles(specs: string[], root: string): string[] {
  const files = new Set<string>();
  for (const spec of specs.length > 0 ? specs : [DEFAULT_SPEC]) {
    const absolute = path.resolve(root, spec);
    let found: string[];
    if (isGlob(spec)) found = fs.globSync(spec, { cwd: root }).map((f) => path.join(root, f));
    else if (!fs.existsSync(absolute)) throw new Error(`no such test file or directory: ${spec}`);
    else if (fs.statSync(absolute).isDirectory()) {
      found = (fs.readdirSync(absolute, { recursive: true }) as string[])
        .filter((f) => f.endsWith(".test.ts"))
        .map((f) => path.join(absolute, f));
    } else found = [absolute];
    if (found.length === 0) throw new Error(`no test files match ${spec}`);
    for (const file of found) files.add(path.relative(root, file));
  }
  return [...files].sort();
}

/**
 * Whether a test file needs the MySQL server: it uses tooling/local/mysql.ts (a BRN
 * database of its own), or it starts scripts/local.ts, whose skills stand-in creates one.
 */
function needsMysql(source: string): boolean {
  return /tooling\/local\/mysql|["']local\.ts["']/.test(source);
}

/** MYSQL_URL without its password, for messages. */
function shown(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * Resolves to undefined when a MySQL server greets us at `url` (a server speaks first, with
 * its handshake), or to why not. A port that accepts and stays silent (a container still
 * starting behind Docker's proxy) counts as no server.
 */
function probeMysql(url: string, timeoutMs = MYSQL_PROBE_MS): Promise<string | undefined> {
  let host: string;
  let port: number;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "mysql:") return Promise.resolve(`MYSQL_URL must start with mysql:// (got ${shown(url)})`);
    host = parsed.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
    port = Number(parsed.port || 3306);
  } catch {
    return Promise.resolve(`MYSQL_URL is not a URL (got ${shown(url)})`);
  }
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (problem?: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => done(`no MySQL handshake from ${host}:${port} within ${timeoutMs} ms`), timeoutMs);
    socket.once("data", () => done());
    socket.once("error", (err) => done(err.message));
    socket.once("end", () => done(`${host}:${port} closed the connection without a MySQL handshake`));
  });
}

function mysqlMissingMessage(files: string[], url: string, problem: string): string {
  const which = files.length === 1 ? `${files[0]} needs` : `${files.length} of the selected test files need`;
  const listed = files.length === 1 ? "" : ` (${files.join(", ")})`;
  return [
    `${which} a MySQL server at MYSQL_URL=${shown(url)}${process.env.MYSQL_URL ? "" : " (the default)"}, and none answers: ${problem}${listed}.`,
    "Start one (it accepts connections after about 30 s), or set MYSQL_URL to yours:",
    "  docker run -d --name tributary-mysql -p 3306:3306 -e MYSQL_ALLOW_EMPTY_PASSWORD=yes -e MYSQL_DATABASE=test mysql:8",
    '  (or, on Debian/Ubuntu: sudo apt-get install -y mariadb-server, then README.md "Prerequisites" for its user)',
    "Test files that need no MySQL server run without one: name them, e.g. npm test -- test/handlers/hdoc.test.ts",
  ].join("\n");
}

/** A file's modification time in ms, 0 when it does not exist. */
function mtime(file: string): number {
  return fs.statSync(path.join(ROOT, file), { throwIfNoEntry: false })?.mtimeMs ?? 0;
}

/** Runs a command with this terminal; resolves to its exit code (1 when a signal ended it). */
function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: "inherit" });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on("SIGINT", forward).on("SIGTERM", forward);
    child.on("error", reject);
    child.on("close", (code) => {
      process.off("SIGINT", forward).off("SIGTERM", forward);
      resolve(code ?? 1);
    });
  });
}

async function main(argv: string[]): Promise<number> {
  const invocation = parseArgs(argv);
  if (invocation.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let files: string[];
  try {
    files = selectedFiles(invocation.specs, ROOT);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }

  const needMysql = files.filter((file) => needsMysql(fs.readFileSync(path.join(ROOT, file), "utf8")));
  if (needMysql.length > 0) {
    const url = process.env.MYSQL_URL || MYSQL_URL_DEFAULT;
    const problem = await probeMysql(url);
    if (problem !== undefined) {
      process.stderr.write(`${mysqlMissingMessage(needMysql, url, problem)}\n`);
      return 1;
    }
  }

  if (invocation.typecheck) {
    // `tsc --build` skips the check when no file of the project is newer than its last
    // check, which it re-runs while that one had errors; `--incremental` alone re-reads all
    // 5,800 files every time (12 s here). It dates the project's own files only: after an
    // install, whose type definitions may have changed, check everything.
    const tsc = [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "--build", "tsconfig.json", "--noEmit", "--incremental"];
    if (mtime(INSTALL_STAMP) >= mtime(TSBUILDINFO)) tsc.push("--force");
    const code = await run(process.execPath, tsc);
    if (code !== 0) {
      process.stderr.write("the type check failed (above); fix it, or run the tests without it: npm test -- --no-typecheck\n");
      return code;
    }
  }

  const mochaArgs = [...invocation.mochaArgs];
  if (invocation.specs.length === 0) mochaArgs.unshift(DEFAULT_SPEC);
  // mocha's colour detection ignores NO_COLOR (https://no-color.org); honour it here.
  if (process.env.NO_COLOR && !mochaArgs.some((a) => /^(--colors?|-c)$/.test(a))) mochaArgs.push("--no-colors");
  return run(process.execPath, [path.join(ROOT, "node_modules", "mocha", "bin", "mocha.js"), ...mochaArgs]);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
