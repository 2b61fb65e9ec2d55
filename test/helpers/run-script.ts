import { spawn } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import { REPO_ROOT } from "../../paths";

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");

/** Runs a command in the repository, bounded in time, and collects what it printed. */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not finish within ${timeoutMs} ms: ${stdout}${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `scripts/<script>.ts` as `npm run <script>` would, bounded in time. */
export function runScript(script: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<ScriptResult> {
  return runCommand(TSX, [path.join(REPO_ROOT, "scripts", `${script}.ts`), ...args], env, timeoutMs);
}

/** A port of this machine where nothing listens: one the system just gave out, closed again. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
