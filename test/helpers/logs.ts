/** Captures the structured log lines (Powertools Logger, JSON) that `run` writes at `level` and above. */
import { logger } from "../../handlers/lib/logger";

export async function captureLogs<T>(
  level: "DEBUG" | "INFO" | "WARN" | "ERROR",
  run: () => Promise<T>,
): Promise<{ result: T; logs: Record<string, any>[] }> {
  const lines: string[] = [];
  const [out, err] = [process.stdout.write, process.stderr.write];
  const capture = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
  logger.setLogLevel(level);
  process.stdout.write = capture;
  process.stderr.write = capture;
  try {
    const result = await run();
    return {
      result,
      logs: lines
        .join("")
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l)),
    };
  } finally {
    [process.stdout.write, process.stderr.write] = [out, err];
    logger.setLogLevel("SILENT");
  }
}
