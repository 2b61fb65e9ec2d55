/**
 * The offline preview. Its checks run in-process on the stack runs the other test files
 * share; one smoke test runs the command itself, as a user would pipe it.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RULES } from "../../policy/rules";
import {
  DiagramWriteError,
  diagramTargetProblem,
  preview,
  renderMissingSecrets,
  renderReport,
  toDocument,
  writeDiagram,
} from "../../scripts/lib/preview";
import { ORIGINALS } from "../../components/originals";
import { parseConfigValues, PROJECT, requiredSecrets } from "../../config";
import { loadStackConfig, SECRET_PLACEHOLDER_PREFIX, stackRun } from "../../tooling/mock-engine";
import { runScript } from "../helpers/run-script";
import { STAGES } from "../../components/platform";
import { stackSettingsFile } from "../../paths";

const STACKS = STAGES;

/** The `tributary` namespace of a run's config, as the program's loader reads it. */
const projectValues = (config: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(config)
      .filter(([k]) => k.startsWith(`${PROJECT}:`))
      .map(([k, v]) => [k.slice(PROJECT.length + 1), v]),
  );

/** Runs the preview in this process, collecting what it writes. */
async function previewHere(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await preview(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

/** A stack's settings file with one more key, in a temporary folder. */
function settingsWith(stack: string, line: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "preview-")), `Pulumi.${stack}.yaml`);
  const settings = fs.readFileSync(stackSettingsFile(stack), "utf8");
  fs.writeFileSync(file, settings.replace(/^config:\n/m, `config:\n  ${line}\n`));
  return file;
}

describe("npm run preview", function () {
  this.timeout(120_000);

  for (const stack of STACKS) {
    it(`describes ${stack} as one JSON document, with secrets shown as [secret]`, async () => {
      const run = await stackRun(stack);
      const text = JSON.stringify(toDocument(run), null, 2);
      const doc = JSON.parse(text);
      assert.deepEqual(Object.keys(doc), ["stack", "resources", "outputs", "adoption", "missingSecrets"]);
      assert.equal(doc.stack, stack);
      assert.ok(doc.resources.length > 0);
      for (const r of doc.resources) {
        assert.deepEqual(Object.keys(r), ["urn", "type", "name", "parent", "inputs", "options"]);
        assert.deepEqual(
          Object.keys(r.options).sort(),
          [...(r.options.import ? ["import"] : []), "aliases", "ignoreChanges", "protect", "retainOnDelete"].sort(),
        );
      }
      // Every adopted resource is marked with its import id, and listed in the adoption report.
      const imported = doc.resources.filter((r: { options: { import?: string } }) => r.options.import).map((r: { urn: string }) => r.urn);
      assert.deepEqual(
        doc.adoption.adopted.map((a: { urn: string }) => a.urn),
        imported,
      );
      assert.equal(imported.length > 0, stack !== "dev");
      assert.equal(doc.resources.filter((r: { parent: string | null }) => r.parent === null).length, 1, "one root");
      assert.equal(doc.outputs.stage, stack);
      assert.ok(!text.includes(SECRET_PLACEHOLDER_PREFIX), "no secret value in clear");
    });
  }

  it("prints the resource tree and the outputs, and writes a Mermaid diagram", async () => {
    const diagram = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "preview-")), "dev.mmd");
    const report = renderReport(await stackRun("dev"), diagram, []);
    assert.match(report, /^pulumi:pulumi:Stack tributary-dev$/m);
    assert.match(report, /[├└]─ tributary:monitoring:AlertTopic alerts/);
    assert.match(report, /[├└]─ tributary:lessons:LessonCompletionSync lessons/);
    assert.match(report, /Outputs:\n(.*\n)* {2}stage: dev/);
    assert.match(report, /^Adopted: none \(this stack creates everything it has\)$/m);
    assert.match(report, new RegExp(`^Policy: 0 violations of ${RULES.length} rules$`, "m"));
    const mermaid = fs.readFileSync(diagram, "utf8");
    assert.match(mermaid, /^flowchart LR/);
    assert.match(mermaid, /Atlas trigger freecodecamp\.user/);
    assert.match(mermaid, /"rule lessons-rule"/);
  });

  it("exits non-zero and names the key on a broken config value", async () => {
    const result = await previewHere(["--stack", "dev", "--json", "--config", settingsWith("dev", "tributary:logRetentionDays: -1")]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /tributary:logRetentionDays: must be one of/);
    assert.match(result.stderr, /pulumi config set tributary:logRetentionDays <value> --stack dev/);
  });

  it("exits non-zero on a mandatory policy violation, naming the rule and the resource", async () => {
    // Valid config, but prod tables the stack creates without point-in-time recovery break a policy rule.
    const result = await previewHere([
      "--stack",
      "prod",
      "--json",
      "--config",
      settingsWith("prod", "tributary:pointInTimeRecovery: false"),
    ]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /\[mandatory\] dynamodb-encryption-and-recovery: aws:dynamodb\/table:Table alma-tombstones: has no point-in-time recovery in prod/,
    );
  });

  it("exits non-zero when the first `up` would change an adopted resource without an opt-in, naming the setting and the original's value", async () => {
    // As if the program declared another display name than the original's: here, the recorded original differs.
    const topic = ORIGINALS.alma.resources.find((r) => r.name === "alma-topic-loan-created")!;
    const displayName = topic.settings.displayName;
    topic.settings.displayName = { ...displayName, value: "LoanCreatedByHand" };
    try {
      const result = await previewHere(["--stack", "prod", "--json"]);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assert.match(
        result.stderr,
        /would change adopted resources without an opt-in:\n {2}- alma-topic-loan-created \(aws:sns\/topic:Topic\) displayName: LoanCreatedByHand → AlmaLoanCreated \[NOT opted in\] \(original: lulibrary\/alma-webhook-handler@1d58016 serverless\.yml/,
      );
    } finally {
      topic.settings.displayName = displayName;
    }
  });

  it("marks each adopted resource's options in the tree, and lists what the first `up` changes on them", async () => {
    const diagram = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "preview-")), "prod.mmd");
    const report = renderReport(await stackRun("prod"), diagram, []);
    assert.match(
      report,
      /─ aws:sns\/topic:Topic alma-topic-loan-created \[import arn:aws:sns:eu-west-2:333333333333:lag-awh-prod-loanCreatedTopic-\w+, protect, retain, keeps kmsMasterKeyId tags tagsAll\]$/m,
    );
    assert.match(report, /─ aws:dynamodb\/table:Table alma-tombstones \[protect, retain\]$/m);
    assert.match(
      report,
      /^Adopted: 26 resources\. The first `pulumi up` imports them: 0 changes without an opt-in, 0 opted in, 1 additions:$/m,
    );
    assert.match(report, /^ {2}- hdoc-frontend-site \(aws:s3\/bucket:Bucket\) aws:s3\/bucketPolicy:BucketPolicy: .* \[addition\]/m);
  });

  it("exits non-zero on an unknown stack, and 2 with its usage on a missing --stack", async () => {
    const unknown = await previewHere(["--stack", "qa"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown stack "qa"/);
    const missing = await previewHere([]);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, "npm run preview: --stack is required; see npm run preview -- --help\n");
  });

  describe("a settings file given with --config", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-config-"));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("that does not exist, or is a folder: names the file and why, not an unknown stack", async () => {
      const missing = path.join(dir, "Pulumi.mine.yaml");
      const result = await previewHere(["--stack", "dev", "--config", missing]);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assert.equal(result.stderr, `cannot read the settings file ${missing}: there is no such file\n`);
      const folder = await previewHere(["--stack", "dev", "--config", dir]);
      assert.equal(folder.code, 1);
      assert.equal(folder.stderr, `cannot read the settings file ${dir}: it is a directory, not a file\n`);
    });

    it("that is not valid YAML: names the file, the line and the column", async () => {
      const file = path.join(dir, "Pulumi.broken.yaml");
      // A second block for the same app, as a newcomer pasting an example might add.
      fs.writeFileSync(
        file,
        "config:\n  aws:region: eu-west-2\n  tributary:alma:\n    paused: true\n  tributary:alma:\n    paused: false\n",
      );
      const result = await previewHere(["--stack", "dev", "--config", file]);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, new RegExp(`^${file.replace(/[.]/g, "\\.")}:5:3: not valid YAML: Map keys must be unique\n`));
      assert.match(result.stderr, /\n {6}tributary:alma:\n {6}\^\n$/, "the lines around it, with a caret under the column");
      assert.doesNotMatch(result.stderr, /unknown stack|at \w+ \(/, "no stack trace");
    });
  });

  describe("a --diagram that cannot be written", () => {
    it("names the path and why on one line, exit 1, before the stack runs (no stack trace)", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-diagram-"));
      try {
        const file = path.join(dir, "a-file");
        fs.writeFileSync(file, "");
        const result = await runScript("preview", ["--stack", "dev", "--diagram", path.join(file, "dev.mmd")]);
        assert.equal(result.code, 1);
        assert.equal(result.stdout, "");
        assert.equal(result.stderr, `cannot write the diagram to ${path.join(file, "dev.mmd")}: ${file} is a file, not a folder\n`);
        const folder = await previewHere(["--stack", "dev", "--diagram", dir]);
        assert.equal(folder.code, 1);
        assert.equal(folder.stderr, `cannot write the diagram to ${dir}: it is a folder\n`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("or fails when it is written: the same one line", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-diagram-"));
      try {
        // The folder is replaced by a file between the check and the write.
        const target = path.join(dir, "gone", "dev.mmd");
        assert.equal(diagramTargetProblem(target), undefined);
        fs.writeFileSync(path.join(dir, "gone"), "");
        const run = await stackRun("dev");
        assert.throws(
          () => writeDiagram(run, target),
          (err: Error) => {
            assert.ok(err instanceof DiagramWriteError);
            assert.match(
              err.message,
              new RegExp(`^cannot write the diagram to ${target.replace(/[.]/g, "\\.")}: a folder in its path is a file$`),
            );
            return true;
          },
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("secrets the settings file lacks", () => {
    it("are listed at the end of the report, one `pulumi config set --secret` each, and the exit code stays 0", async () => {
      const run = await stackRun("dev");
      const needed = requiredSecrets(parseConfigValues("dev", projectValues(run.config))).filter((s) => !s.optional);
      assert.ok(needed.length >= 10, "dev enables every app");
      const lines = renderMissingSecrets(run);
      assert.equal(
        lines[0],
        `Missing secrets: ${needed.length} that the enabled apps need are not in Pulumi.dev.yaml. The preview used a placeholder for each; \`pulumi up\` needs them set:`,
      );
      assert.deepEqual(
        lines.slice(1).map((l) => l.replace(/ +#.*$/, "").trim()),
        needed.map((s) => `pulumi config set --secret ${s.key} <value> --stack dev`),
      );
      assert.match(lines.find((l) => l.includes("almaWebhookSecret"))!, /# alma: Alma webhook signing secret$/);
      const report = renderReport(run, path.join(fs.mkdtempSync(path.join(os.tmpdir(), "preview-")), "dev.mmd"), []);
      assert.match(
        report,
        new RegExp(`^Stack dev: \\d+ resources \\(\\d+ cloud resources\\); ${needed.length} secrets missing, listed at the end$`, "m"),
      );
      assert.ok(report.trimEnd().endsWith(lines.at(-1)!), "the last lines of the report");
    });

    it("are in the --json document as missingSecrets: key, app, description and command", async () => {
      const doc = JSON.parse(JSON.stringify(toDocument(await stackRun("staging"))));
      const webhook = doc.missingSecrets.find((m: { key: string }) => m.key === "tributary:almaWebhookSecret");
      assert.deepEqual(webhook, {
        key: "tributary:almaWebhookSecret",
        app: "alma",
        description: "Alma webhook signing secret",
        command: "pulumi config set --secret tributary:almaWebhookSecret <value> --stack staging",
      });
      assert.ok(!doc.missingSecrets.some((m: { key: string }) => m.key === "tributary:githubToken"), "an optional secret is not missing");
    });

    it("leave out what the file holds (encrypted), and say so when an ESC environment may give the rest", () => {
      const file = settingsWith("dev", "tributary:almaWebhookSecret:\n    secure: AAABAKx0cGxhY2Vob2xkZXI=");
      fs.writeFileSync(file, `environment:\n  - tributary/dev-secrets\n${fs.readFileSync(file, "utf8")}`);
      const settings = loadStackConfig("dev", file);
      const keys = settings.missingSecrets.map((m) => m.key);
      assert.ok(!keys.includes("tributary:almaWebhookSecret"));
      assert.ok(keys.includes("tributary:iotaMongoUri"));
      const run = { stack: "dev", resources: [], calls: [], outputs: {}, config: settings.config, settings };
      assert.match(
        renderMissingSecrets(run)[0],
        /not in .*Pulumi\.dev\.yaml \(unless the ESC environment tributary\/dev-secrets gives them\)\./,
      );
    });

    it("none missing, nothing said", () => {
      assert.deepEqual(
        renderMissingSecrets({
          stack: "dev",
          resources: [],
          calls: [],
          outputs: {},
          config: {},
          settings: { missingSecrets: [], environments: [], file: "Pulumi.dev.yaml" },
        }),
        [],
      );
    });
  });

  it("runs as a command whose whole --json document survives a pipe", async () => {
    const result = await runScript("preview", ["--stack", "dev", "--json"]);
    assert.equal(result.code, 0, result.stderr);
    // Over 100 KB: written to a pipe, it arrives whole only if the command waits for stdout to drain.
    assert.ok(result.stdout.length > 100_000, `${result.stdout.length} bytes`);
    // Registrations may resolve in another order from run to run: compare the resources by URN.
    const byUrn = (doc: { resources: { urn: string }[] }) => ({
      ...doc,
      resources: [...doc.resources].sort((a, b) => a.urn.localeCompare(b.urn)),
    });
    assert.deepEqual(byUrn(JSON.parse(result.stdout)), byUrn(JSON.parse(JSON.stringify(toDocument(await stackRun("dev"))))));
  });
});
