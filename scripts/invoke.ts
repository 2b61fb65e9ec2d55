/**
 * Local invoke: runs a function's bundle with one or more events in one process, as a warm
 * Lambda container would (INVOKE_COMMAND's help says how to use it).
 *
 * Bundles take AWS credentials from the environment only, as on Lambda (see
 * components/lambda/shims/credential-provider-node.ts). When AWS_ACCESS_KEY_ID is not set,
 * this script resolves the machine's own default chain (AWS_PROFILE, SSO, ~/.aws, a
 * credential process) and passes the result to the handler in those variables; it does so
 * last, once everything a newcomer can get wrong here has been checked, so that a missing
 * variable is not hidden behind a credentials warning.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { type Bundle, bundleHandler, handlerEntry, listHandlers } from "../components/lambda/bundle";
import { type Handler, lambdaContext, lambdaEnvironment, loadHandler } from "../tooling/local/lambda";
import { defineCommand, parseCommandLine, usageError } from "./lib/cli";
import { LOCAL_APP_NAMES, localEnvFile } from "./lib/local-apps";
import { runMain } from "./lib/main";

export const INVOKE_COMMAND = defineCommand({
  command: "npm run invoke",
  help: `Usage: npm run invoke -- <function> --event <file> [--event <file> ...] [--timeout <seconds>]
       npm run invoke -- --list
       npm run invoke -- --entry <file.ts> --event <file>

Runs a function's bundle here, with each event in turn in one process (as a warm Lambda
container would), and prints each result as one line of JSON on stdout; the handler's logs
go to stderr. A thrown error exits 1 with its message on stderr.

The handler sees this shell's environment. \`npm run local -- <app>\` starts local stand-ins
for an app and writes the environment that points its functions at them (source
${localEnvFile("<app>")}). What is checked, in this order: the function, the event files
(JSON), the environment the function needs when it loads, and then, only for a function that
calls AWS and only when AWS_ACCESS_KEY_ID is not set, this machine's AWS credentials
(AWS_PROFILE, SSO, ~/.aws), passed to the handler as AWS_ACCESS_KEY_ID and the rest.

Options:
  --event <file>        an event, as JSON (repeatable: each runs in the same warm process)
  --list                list the functions (handlers/<app>/functions/<function>.ts)
  --entry <file.ts>     run any entry file instead of a function, for experiments
  --timeout <seconds>   what context.getRemainingTimeInMillis counts down from (default 30)
  -h, --help            print this help and exit

Examples:
  npm run invoke -- --list
  npm run local -- alma        # in another terminal: the alma functions' stand-ins
  source ${localEnvFile("alma")}
  npm run invoke -- alma-webhook --event test/fixtures/payloads/alma-webhook/loan_created_event.json
`,
  options: {
    event: { type: "string", multiple: true, default: [] },
    entry: { type: "string" },
    list: { type: "boolean", default: false },
    timeout: { type: "string", default: "30" },
  },
  allowPositionals: true,
});

/** A problem found before the handler runs: one line on stderr, exit 1. */
class InvokeError extends Error {}

/** Whether the bundle signs AWS requests: it holds the credential provider the SDK clients use. */
export function callsAws(bundle: Pick<Bundle, "metafile">): boolean {
  return Object.keys(bundle.metafile.inputs).some((input) => /credential-provider-node/.test(input));
}

/** Puts this machine's AWS credentials where a bundle looks for them: the environment. */
async function exportCredentials(): Promise<void> {
  if (process.env.AWS_ACCESS_KEY_ID && process.env.AWS_SECRET_ACCESS_KEY) return;
  // A workstation has no instance metadata service: skip the chain's slow last resort.
  const metadata = process.env.AWS_EC2_METADATA_DISABLED;
  process.env.AWS_EC2_METADATA_DISABLED ??= "true";
  try {
    const credentials = await defaultProvider()();
    process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
    if (credentials.sessionToken) process.env.AWS_SESSION_TOKEN = credentials.sessionToken;
  } catch (err) {
    process.stderr.write(
      `no AWS credentials found (${(err as Error).message}); calls to AWS will fail unless they go to local servers that ignore signatures\n`,
    );
  } finally {
    if (metadata === undefined) delete process.env.AWS_EC2_METADATA_DISABLED;
  }
}

const FILE_FAILURES: Record<string, string> = { ENOENT: "there is no such file", EISDIR: "it is a folder", EACCES: "permission denied" };

/** An event file's JSON; every failure names the file. */
export function readEvent(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(file), "utf8");
  } catch (err) {
    throw new InvokeError(
      `cannot read event file ${file}: ${FILE_FAILURES[(err as NodeJS.ErrnoException).code ?? ""] ?? (err as Error).message}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvokeError(`event file ${file} is not JSON: ${(err as Error).message}`);
  }
}

/** Where to get the environment a function's module failed on: the app's stand-ins, when `npm run local` has them. */
function environmentHint(name: string, entry: string | undefined): string {
  const app = entry ? undefined : handlerEntry(name).split("/")[1];
  return app && (LOCAL_APP_NAMES as readonly string[]).includes(app)
    ? ` (to run it against local stand-ins: npm run local -- ${app}, then in this shell source ${localEnvFile(app)})`
    : "";
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, INVOKE_COMMAND);
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  if (values.list) {
    process.stdout.write(
      listHandlers()
        .map((h) => `${h}\n`)
        .join(""),
    );
    return 0;
  }
  const name = positionals[0] ?? (values.entry ? path.basename(path.dirname(values.entry)) : undefined);
  if (!name) return usageError(INVOKE_COMMAND, "a function is required (npm run invoke -- --list names them)");
  if (positionals.length > 1) return usageError(INVOKE_COMMAND, `one function at a time (got ${positionals.join(", ")})`);
  if (values.event.length === 0) return usageError(INVOKE_COMMAND, "at least one --event <file> is required");
  const timeout = Number(values.timeout);
  if (!(timeout > 0))
    return usageError(INVOKE_COMMAND, `--timeout must be a number of seconds above 0 (got ${JSON.stringify(values.timeout)})`);
  if (!values.entry && !listHandlers().includes(name)) {
    process.stderr.write(`unknown function "${name}"; known functions: ${listHandlers().join(", ") || "none"}\n`);
    return 2;
  }

  // What can be wrong on this machine is checked before anything that reaches out: the events,
  // then the environment the function reads when it loads, and the AWS credentials last.
  let events: unknown[];
  try {
    events = values.event.map(readEvent);
  } catch (err) {
    if (!(err instanceof InvokeError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  const bundle = await bundleHandler({ handler: name, entry: values.entry });
  // What Lambda sets in every function's environment, before the handler's module loads.
  for (const [key, value] of Object.entries(lambdaEnvironment(name))) process.env[key] ||= value;

  // stdout carries only results; everything the handler writes goes to stderr.
  const writeResult = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  let handler: Handler;
  try {
    // Clients and settings are made when the module loads: a missing variable fails here.
    handler = loadHandler(bundle.file);
  } catch (err) {
    process.stderr.write(`${name} cannot start: ${(err as Error).message}${environmentHint(name, values.entry)}\n`);
    return 1;
  }
  // The SDK reads credentials from the environment when it signs the first request.
  if (callsAws(bundle)) await exportCredentials();

  for (const event of events) {
    const result = await handler(event, lambdaContext(name, timeout));
    writeResult(`${JSON.stringify(result ?? null)}\n`);
  }
  return 0;
}

if (require.main === module)
  runMain(
    () => main(process.argv.slice(2)),
    (err) => `${err.name}: ${err.message}`,
  );
