/**
 * Offline preview: runs the real program with a stack's real config under Pulumi's mock
 * engine (no cloud credentials, no Pulumi CLI) and shows what `pulumi up` would deploy.
 * `npm run preview -- --help` gives the options (PREVIEW_COMMAND in scripts/lib/preview.ts).
 */
import { runMain } from "./lib/main";
import { preview } from "./lib/preview";

runMain(
  () => preview(process.argv.slice(2), { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) }),
  (err) => err.stack ?? err.message,
);
