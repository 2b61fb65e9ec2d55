/** Medians, quantiles and process timing for the bench. Machines here are noisy: quote medians and ratios. */
import { spawn } from "node:child_process";

export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (at - low);
}

export const median = (values: number[]) => quantile(values, 0.5);

/** `1.62× (1.51–1.74)`: the median ratio and its interquartile range. */
export function ratioWithSpread(ratios: number[]): string {
  return `${median(ratios).toFixed(2)}× (${quantile(ratios, 0.25).toFixed(2)}–${quantile(ratios, 0.75).toFixed(2)})`;
}

export const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
export const ms = (value: number) => `${value.toFixed(0)} ms`;
export const seconds = (value: number) => `${(value / 1000).toFixed(1)} s`;

/**
 * Wall time of a command, from spawn to exit, in ms; a failure throws with its stderr. The
 * wait is asynchronous: the local stand-ins the command talks to run in this process.
 */
export function timeCommand(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ["ignore", "ignore", "pipe"],
      timeout: options.timeoutMs ?? 600_000,
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
      if (code === 0) return resolve(elapsed);
      const detail = stderr
        .split("\n")
        .filter((l) => /Error\b/.test(l) && l.length < 400)
        .slice(0, 3)
        .join("\n");
      reject(new Error(`${command} ${args.join(" ").slice(0, 120)} exited ${code ?? signal}: ${detail}`));
    });
  });
}

/**
 * Times `subject` against `baseline` in `pairs` pairs, alternating which runs first so that
 * drift on a noisy machine falls on both alike. Returns each side's times and the per-pair ratios.
 */
export async function timePairs(
  pairs: number,
  subject: () => Promise<number>,
  baseline: () => Promise<number>,
): Promise<{ subject: number[]; baseline: number[]; ratios: number[] }> {
  const result = { subject: [] as number[], baseline: [] as number[], ratios: [] as number[] };
  for (let i = 0; i < pairs; i++) {
    let s: number;
    let b: number;
    if (i % 2 === 0) {
      b = await baseline();
      s = await subject();
    } else {
      s = await subject();
      b = await baseline();
    }
    result.subject.push(s);
    result.baseline.push(b);
    result.ratios.push(s / b);
  }
  return result;
}

/** One run of a process: its wall time from spawn to exit, and the CPU time it reported, in ms. */
export interface TimedRun {
  wallMs: number;
  /** User + system CPU from the process's start to its last line `cpu <ms>` on stdout; undefined when it printed none. */
  cpuMs?: number;
  /** What the process measured itself and printed as lines `<name> <ms>` (`cpu` included), by name. */
  reported: Record<string, number>;
}

/** The `<name> <number>` lines of a process's stdout, by name (the last one wins). */
export function reportedFigures(stdout: string): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const [, name, value] of stdout.matchAll(/^([a-z][a-z-]*) (\d+(?:\.\d+)?)$/gm)) figures[name] = Number(value);
  return figures;
}

/**
 * timeCommand, with the CPU time the command reports: a process that ends its stdout with
 * `cpu <ms>` (its own process.cpuUsage()) gets it back. CPU time moves far less than wall
 * time when other work shares the machine.
 */
export function timeRun(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { env: options.env, stdio: ["ignore", "pipe", "pipe"], timeout: options.timeoutMs ?? 600_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) {
        const detail = stderr
          .split("\n")
          .filter((l) => /Error\b/.test(l) && l.length < 400)
          .slice(0, 3)
          .join("\n");
        return reject(new Error(`${command} ${args.join(" ").slice(0, 120)} exited ${code ?? signal}: ${detail}`));
      }
      const cpu = /(?:^|\n)cpu (\d+(?:\.\d+)?)\s*$/.exec(stdout);
      resolve({ wallMs, cpuMs: cpu ? Number(cpu[1]) : undefined, reported: reportedFigures(stdout) });
    });
  });
}

/** timePairs for TimedRun: each side's runs, alternating which goes first, with per-pair wall and CPU ratios. */
export async function timeRunPairs(pairs: number, subject: () => Promise<TimedRun>, baseline: () => Promise<TimedRun>) {
  const result = { subject: [] as TimedRun[], baseline: [] as TimedRun[] };
  for (let i = 0; i < pairs; i++) {
    const [first, second] = i % 2 === 0 ? [baseline, subject] : [subject, baseline];
    const a = await first();
    const b = await second();
    result.subject.push(i % 2 === 0 ? b : a);
    result.baseline.push(i % 2 === 0 ? a : b);
  }
  const ratios = (of: (r: TimedRun) => number | undefined) => result.subject.map((s, i) => of(s)! / of(result.baseline[i])!);
  return {
    ...result,
    wallRatios: ratios((r) => r.wallMs),
    cpuRatios: result.subject.every((r) => r.cpuMs !== undefined) ? ratios((r) => r.cpuMs) : [],
  };
}

/** `93 ms (88–97)`: the median and its interquartile range. */
export function msWithSpread(values: number[]): string {
  return `${median(values).toFixed(0)} ms (${quantile(values, 0.25).toFixed(0)}–${quantile(values, 0.75).toFixed(0)})`;
}
