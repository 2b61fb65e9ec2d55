/**
 * Runs every example the documentation marks `<!-- example: local <app> -->`, in README.md or
 * in docs/**, as written: the app's local stand-ins (`npm run local -- <app>`) in the
 * background, then the block in bash.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../paths";

const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
/** The apps `npm run local` stands in for; each has had an example since the README first ran them. */
const LOCAL_APPS = ["alma", "hdoc", "lessons", "skills"];

interface Example {
  app: string;
  script: string;
  /** Where it is written, relative to the repository: `README.md`, `docs/local.md`. */
  file: string;
}

/** README.md and every Markdown file under docs/, relative to the repository. */
function markdownFiles(): string[] {
  const docs = fs.readdirSync(path.join(REPO_ROOT, "docs"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".md"));
  return ["README.md", ...docs.sort().map((f) => path.posix.join("docs", f.split(path.sep).join("/")))];
}

const EXAMPLES: Example[] = markdownFiles().flatMap((file) =>
  [...fs.readFileSync(path.join(REPO_ROOT, file), "utf8").matchAll(/<!-- example: local (\w+) -->\s*```sh\n([\s\S]*?)```/g)].map((m) => ({
    app: m[1],
    script: m[2],
    file,
  })),
);

/** Starts `npm run local -- <app>` and resolves once its stand-ins are up; the result stops them. */
function startLocal(app: string): Promise<() => Promise<void>> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [path.join(REPO_ROOT, "scripts", "local.ts"), app], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const timer = setTimeout(() => reject(new Error(`npm run local -- ${app} did not start: ${output}`)), 30_000);
    child.stdout.on("data", (d) => {
      output += d;
      if (!output.includes("local stand-ins for")) return;
      clearTimeout(timer);
      resolve(() => new Promise<void>((done) => (child.once("close", () => done()), child.kill("SIGINT"))));
    });
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`npm run local -- ${app} exited (${code}) before its stand-ins were up: ${output}`));
    });
  });
}

interface ExampleRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one example as written, with its app's stand-ins up, in a shell with a clean environment. */
async function runExample(example: Example): Promise<ExampleRun> {
  const stop = await startLocal(example.app);
  try {
    // A clean environment, as a newcomer's shell: nothing but what the example sources.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_") && !k.startsWith("POWERTOOLS_")));
    return await new Promise<ExampleRun>((resolve, reject) => {
      const child = spawn("bash", ["-euo", "pipefail", "-c", example.script], {
        cwd: REPO_ROOT,
        env,
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 90_000,
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
  } finally {
    await stop();
  }
}

describe("the documentation's local examples", function () {
  this.timeout(180_000);
  /**
   * Examples of different apps run side by side (each app's stand-ins listen on their own ports);
   * two of one app run one after the other.
   */
  const runs = new Map<Example, Promise<ExampleRun>>();
  before(() => {
    const lastOfApp = new Map<string, Promise<unknown>>();
    for (const example of EXAMPLES) {
      const run = (lastOfApp.get(example.app) ?? Promise.resolve()).then(() => runExample(example));
      run.catch(() => undefined); // reported by the example's own test
      lastOfApp.set(
        example.app,
        run.catch(() => undefined),
      );
      runs.set(example, run);
    }
  });

  it("marks at least one example for every app with local stand-ins, and none for another app", () => {
    const apps = new Set(EXAMPLES.map((e) => e.app));
    for (const app of LOCAL_APPS) assert.ok(apps.has(app), `no <!-- example: local ${app} --> block in README.md or docs/`);
    for (const e of EXAMPLES) assert.ok(LOCAL_APPS.includes(e.app), `${e.file}: npm run local has no stand-ins for "${e.app}"`);
  });

  for (const example of EXAMPLES) {
    it(`runs the ${example.app} example of ${example.file} as written`, async () => {
      const result = await runs.get(example)!;
      assert.equal(result.status, 0, `${example.file}:\n${example.script}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
      assert.doesNotMatch(result.stdout, /"statusCode":5\d\d/);
      // The example's delivery is written, not refused as older than a tombstone lives.
      assert.doesNotMatch(result.stderr, /stale event/);
    });
  }
});
