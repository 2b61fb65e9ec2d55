/**
 * The command line of every `npm run` script: `--help` (or `-h`) prints the script's help on
 * stdout and ends it with 0 before anything else happens, and a wrong option ends it with 2
 * and one line that names the option. The help text starts with a `Usage:` line.
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  /** `npm run <script>` as a user types it, for messages: `npm run preview`. */
  command: string;
  /** The whole help text: `Usage: ...`, what it does, its options and an example. */
  help: string;
  options: O;
  allowPositionals?: boolean;
}

/** A command's spec, with its options' types kept literal for parseArgs's typed result. */
export function defineCommand<const O extends ParseArgsOptionsConfig>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

export interface CommandOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processOutput: CommandOutput = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** Where to look next, at the end of every usage error. */
export const seeHelp = (command: string) => `see ${command} -- --help`;

/** Whether the user asked for help: `--help` or `-h` anywhere before a `--` that ends the options. */
export function asksForHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

/** node:util's parse error as one line a user can act on. */
function describeParseError(err: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(err.message)?.[1];
  switch (err.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${option ?? err.message}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return /does not take an argument/.test(err.message) ? `option ${option} takes no value` : `option ${option} needs a value`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ""}`.trim();
    default:
      return err.message;
  }
}

/**
 * Parses `argv` for `spec`. Returns the parsed values, or the exit code when the script must
 * end now: 0 after printing its help, 2 after a one-line error on stderr.
 */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(
  argv: string[],
  spec: CommandSpec<O>,
  out: CommandOutput = processOutput,
) {
  if (asksForHelp(argv)) {
    out.stdout(spec.help.endsWith("\n") ? spec.help : `${spec.help}\n`);
    return 0;
  }
  try {
    return parseArgs({ args: argv, options: spec.options, allowPositionals: spec.allowPositionals ?? false, strict: true });
  } catch (err) {
    out.stderr(`${spec.command}: ${describeParseError(err as Error)}; ${seeHelp(spec.command)}\n`);
    return 2;
  }
}

/** A usage problem found after parsing (a missing argument, a bad value): one line, and where the help is. */
export function usageError(spec: { command: string }, problem: string, out: CommandOutput = processOutput): 2 {
  out.stderr(`${spec.command}: ${problem}; ${seeHelp(spec.command)}\n`);
  return 2;
}
