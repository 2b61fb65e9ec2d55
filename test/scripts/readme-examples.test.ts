/**
 * Runs every example the README marks `<!-- example: local <app> -->` as written: the app's
 * local stand-ins (`npm run local -- <app>`) in the background, then the block in bash.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../tooling/mock-engine";

const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
const EXAMPLES = [...readme.matchAll(/<!-- example: local (\w+) -->\s*```sh\n([\s\S]*?)```/g)].map((m) => ({ app: m[1], script: m[2] }));

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
  });
}

interface ExampleRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one example as written, with its app's stand-ins up, in a shell with a clean environment. */
async function runExample(example: { app: string; script: string }): Promise<ExampleRun> {
  const stop = await startLocal(example.app);
  try {
    // A clean environment, as a newcomer's shell: nothing but what the example sources.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_") && !k.startsWith("POWERTOOLS_")));
    return await new Promise<ExampleRun>((resolve, reject) => {
      const child = spawn("bash", ["-euo", "pipefail", "-c", example.script], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"], timeout: 90_000 });
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

describe("README examples", function () {
  this.timeout(120_000);
  /** The examples are independent (each app's stand-ins listen on their own ports), so they run side by side. */
  const runs = new Map<string, Promise<ExampleRun>>();
  before(() => {
    for (const example of EXAMPLES) {
      const run = runExample(example);
      run.catch(() => undefined); // reported by the example's own test
      runs.set(example.app, run);
    }
  });

  it("marks an example for every app with local stand-ins", () => {
    assert.deepEqual(EXAMPLES.map((e) => e.app).sort(), ["alma", "hdoc", "lessons", "skills"]);
  });

  for (const example of EXAMPLES) {
    it(`runs the ${example.app} example as written`, async () => {
      const result = await runs.get(example.app)!;
      assert.equal(result.status, 0, `${example.script}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
      assert.doesNotMatch(result.stdout, /"statusCode":5\d\d/);
      // The example's delivery is written, not refused as older than a tombstone lives.
      assert.doesNotMatch(result.stderr, /stale event/);
    });
  }
});
