/**
 * Local invoke: runs a function's bundle with one or more events in one process, as a warm
 * Lambda container would, and prints each result as one line of JSON on stdout. The
 * handler's own logs go to stderr, so stdout stays machine-readable.
 *
 *   npm run invoke -- <function> --event <file> [--event <file> ...]
 *   npm run invoke -- --list
 *   npm run invoke -- --entry <file.ts> --event <file>     any entry file, for experiments
 *
 * The handler sees this process's environment: point AWS clients at local servers with
 * AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_<SERVICE>) and external APIs with their *_URL variables.
 *
 * Bundles take AWS credentials from the environment only, as on Lambda (see
 * components/lambda/shims/credential-provider-node.ts). When AWS_ACCESS_KEY_ID is not set,
 * this script resolves the machine's own default chain (AWS_PROFILE, SSO, ~/.aws, a
 * credential process) and passes the result to the handler in those variables.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { bundleHandler, listHandlers } from "../components/lambda/bundle";
import { lambdaContext, lambdaEnvironment, loadHandler } from "../tooling/local/lambda";
import { runMain } from "./lib/main";

const USAGE = [
  "usage: npm run invoke -- <function> --event <file> [--event <file> ...]",
  "       npm run invoke -- --list",
  "       npm run invoke -- --entry <file.ts> --event <file>",
].join("\n");

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
    process.stderr.write(`no AWS credentials found (${(err as Error).message}); calls to AWS will fail unless they go to local servers that ignore signatures\n`);
  } finally {
    if (metadata === undefined) delete process.env.AWS_EC2_METADATA_DISABLED;
  }
}

function readEvent(file: string): unknown {
  const text = fs.readFileSync(path.resolve(file), "utf8");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`event file ${file} is not JSON: ${(err as Error).message}`);
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        event: { type: "string", multiple: true, default: [] },
        entry: { type: "string" },
        list: { type: "boolean", default: false },
        timeout: { type: "string", default: "30" },
        help: { type: "boolean", default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.list) {
    process.stdout.write(listHandlers().map((h) => `${h}\n`).join(""));
    return 0;
  }
  const name = positionals[0] ?? (values.entry ? path.basename(path.dirname(values.entry)) : undefined);
  if (!name || values.event.length === 0) {
    process.stderr.write(`a function and at least one --event are required\n${USAGE}\n`);
    return 2;
  }
  if (!values.entry && !listHandlers().includes(name)) {
    process.stderr.write(`unknown function "${name}"; known functions: ${listHandlers().join(", ") || "none"}\n`);
    return 2;
  }

  const events = values.event.map(readEvent);
  const bundle = await bundleHandler({ handler: name, entry: values.entry });
  await exportCredentials();
  // What Lambda sets in every function's environment, before the handler's module loads.
  const timeout = Number(values.timeout);
  for (const [key, value] of Object.entries(lambdaEnvironment(name))) process.env[key] ||= value;

  // stdout carries only results; everything the handler writes goes to stderr.
  const writeResult = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  const handler = loadHandler(bundle.file);

  for (const event of events) {
    const result = await handler(event, lambdaContext(name, timeout));
    writeResult(`${JSON.stringify(result ?? null)}\n`);
  }
  return 0;
}

runMain(() => main(process.argv.slice(2)), (err) => `${err.name}: ${err.message}`);
