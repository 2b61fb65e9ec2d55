/** `npm run preview`'s command line, apart from the preview itself so that --help answers without loading the program. */
import { STAGES } from "../../components/platform";
import { defineCommand } from "./cli";

export const PREVIEW_COMMAND = defineCommand({
  command: "npm run preview",
  help: `Usage: npm run preview -- --stack <${STAGES.join("|")}> [--json] [--config <settings.yaml>] [--diagram <file.mmd>]

Shows what \`pulumi up\` would deploy for a stack, offline: the real program runs with the
stack's settings (Pulumi.<stack>.yaml) under Pulumi's mock engine, with no cloud credentials,
no Pulumi CLI and nothing deployed. It prints the resource tree, the outputs, what the first
\`up\` would change on adopted resources, the policy check, and the secrets the settings file
lacks (the preview runs with a placeholder for each, and says how to set them); it writes a
Mermaid diagram. A config or policy problem exits 1, naming the key or the resource.

Options:
  --stack <stack>       the stack to preview: ${STAGES.join(", ")} (required)
  --json                print one JSON document instead of the report:
                        {stack, resources, outputs, adoption, missingSecrets}, secrets as "[secret]"
  --config <file>       read this settings file as the stack's, instead of Pulumi.<stack>.yaml
  --diagram <file.mmd>  where the diagram goes (default: .build/preview/<stack>.mmd)
  -h, --help            print this help and exit

Examples:
  npm run preview -- --stack dev
  npm run --silent preview -- --stack prod --json | jq '.missingSecrets'
  npm run preview -- --stack dev --config my-dev.yaml --diagram /tmp/dev.mmd
`,
  options: {
    stack: { type: "string" },
    json: { type: "boolean", default: false },
    config: { type: "string" },
    diagram: { type: "string" },
  },
});
