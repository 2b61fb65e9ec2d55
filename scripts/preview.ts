/**
 * Offline preview: runs the real program with a stack's real config under Pulumi's mock
 * engine (no cloud credentials, no Pulumi CLI) and shows what `pulumi up` would deploy.
 * `npm run preview -- --help` gives the options (PREVIEW_COMMAND in scripts/lib/preview.ts).
 */
import { parseCommandLine, processOutput } from "./lib/cli";
import { runMain } from "./lib/main";
import { PREVIEW_COMMAND } from "./lib/preview-command";

runMain(
  async () => {
    const argv = process.argv.slice(2);
    // --help and a wrong option are answered before the program and the Pulumi SDK load.
    const parsed = parseCommandLine(argv, PREVIEW_COMMAND);
    if (typeof parsed === "number") return parsed;
    const { preview } = require("./lib/preview") as typeof import("./lib/preview");
    return preview(argv, processOutput);
  },
  (err) => err.stack ?? err.message,
);
