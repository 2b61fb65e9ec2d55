import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { IMPROVEMENTS } from "../../components/adoption";
import { MANAGEMENT_API_SCOPES } from "../../components/auth0/m2m-client";
import { APP_IMPROVEMENTS, SECRETS, STAGE_DEFAULTS } from "../../config";
import { REPO_ROOT } from "../../paths";

const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), "utf8");
const readme = read("README.md");
const deploy = read("docs/deploy.md");
const configuration = read("docs/configuration.md");
const cutover = read("docs/cutover.md");
const lessons = read("docs/apps/lessons.md");
const pkg = JSON.parse(read("package.json"));

/** README.md and every Markdown file under docs/, relative to the repository. */
function markdownFiles(): string[] {
  const docs = fs.readdirSync(path.join(REPO_ROOT, "docs"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".md"));
  return ["README.md", ...docs.sort().map((f) => path.posix.join("docs", f.split(path.sep).join("/")))];
}

/** The text outside fenced code blocks, line for line (a fenced line becomes empty). */
function prose(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split("\n").map((line) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return "";
    }
    if (marker) {
      fence = marker;
      return "";
    }
    return line;
  });
}

/** The lines inside fenced code blocks. */
function codeLines(markdown: string): string[] {
  const outside = prose(markdown);
  return markdown.split("\n").filter((line, i) => outside[i] === "" && line !== "" && !/^\s*(`{3,}|~{3,})/.test(line));
}

/** The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of prose(markdown)) {
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line)?.[1];
    if (!heading) continue;
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Every inline link target of a file's prose (inline code left out): `[text](target)`. */
function linksOf(markdown: string): string[] {
  const text = prose(markdown)
    .join("\n")
    .replace(/`[^`\n]*`/g, "");
  return [...text.matchAll(/\]\(\s*<?([^()\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
}

describe("README and docs match the code", () => {
  it("offers the two fresh-clone commands, and they exist", () => {
    assert.ok(readme.includes("npm ci && npm run preview -- --stack dev"));
    assert.ok(readme.includes("npm ci && npm test"));
    for (const script of ["preview", "invoke", "test"]) assert.ok(pkg.scripts[script], `npm script ${script}`);
  });

  it("lists every declared secret in docs/deploy.md", () => {
    for (const { key } of SECRETS) assert.ok(deploy.includes(`| \`${key}\` |`), `docs/deploy.md lists ${key}`);
  });

  it("shows the stage defaults in docs/configuration.md as config.ts has them", () => {
    const { dev, staging, prod } = STAGE_DEFAULTS;
    const rows = [
      `| log retention (days) | ${dev.logRetentionDays} | ${staging.logRetentionDays} | ${prod.logRetentionDays} |`,
      `| Lambda errors alarm threshold (per period) | ${dev.alarms.lambdaErrorsThreshold} | ${staging.alarms.lambdaErrorsThreshold} | ${prod.alarms.lambdaErrorsThreshold} |`,
      `| work queue backlog alarm threshold (visible messages for 15 minutes) | ${dev.alarms.queueBacklogThreshold} | ${staging.alarms.queueBacklogThreshold} | ${prod.alarms.queueBacklogThreshold} |`,
      `| HTTP API 5xx alarm threshold (per period) | ${dev.alarms.apiServerErrorsThreshold} | ${staging.alarms.apiServerErrorsThreshold} | ${prod.alarms.apiServerErrorsThreshold} |`,
    ];
    for (const row of rows) assert.ok(configuration.includes(row), row);
  });

  it("lists every improvement in docs/cutover.md with the apps that offer it", () => {
    for (const improvement of Object.keys(IMPROVEMENTS)) {
      const apps = Object.entries(APP_IMPROVEMENTS)
        .filter(([, list]) => (list as readonly string[]).includes(improvement))
        .map(([app]) => app)
        .sort();
      assert.ok(cutover.includes(`| \`${improvement}\` | ${apps.join(", ")} |`), `${improvement}: ${apps.join(", ")}`);
    }
  });

  it("names the Management API scopes the Auth0 provider needs, as the component declares them, in docs/apps/lessons.md and docs/cutover.md", () => {
    const listed = MANAGEMENT_API_SCOPES.map((scope) => `\`${scope}\``);
    for (const [file, text] of [
      ["docs/apps/lessons.md", lessons],
      ["docs/cutover.md", cutover],
    ]) {
      for (const scope of listed) assert.ok(text.includes(scope), `${file}: ${scope}`);
    }
  });

  it("is what .ci/run runs", () => {
    const ci = read(".ci/run");
    assert.match(ci, /npm ci/);
    assert.match(ci, /npm test/);
  });

  it("keeps the README to a newcomer's first hour: under 200 lines", () => {
    const lines = readme.trimEnd().split("\n").length;
    assert.ok(lines < 200, `README.md has ${lines} lines: move the details into docs/ and link them`);
  });

  it("links only files and headings that exist", () => {
    const problems: string[] = [];
    for (const file of markdownFiles()) {
      for (const link of linksOf(read(file))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
        const [target, anchor] = link.split("#", 2);
        const resolved = target === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURI(target)));
        if (resolved.startsWith("..") || !fs.existsSync(path.join(REPO_ROOT, resolved))) {
          problems.push(`${file}: (${link}): no file ${resolved}`);
          continue;
        }
        if (anchor === undefined) continue;
        if (!resolved.endsWith(".md")) {
          problems.push(`${file}: (${link}): #${anchor} in a file that is not Markdown`);
        } else if (!anchorsOf(read(resolved)).has(anchor)) {
          problems.push(
            `${file}: (${link}): ${resolved} has no heading #${anchor} (it has ${[...anchorsOf(read(resolved))].map((a) => `#${a}`).join(", ")})`,
          );
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it("silences npm's banner wherever an example reads or redirects a script's output", () => {
    const problems: string[] = [];
    for (const file of markdownFiles()) {
      for (const text of codeLines(read(file))) {
        // Shell comments and placeholders (`<file>`) may hold a ">".
        const line = text.replace(/\s#\s.*$/, "").replace(/<[\w.:-]+>/g, "");
        const reads = /\bnpm run (?!--silent\b)[^|>]*[|>]/.test(line) || /\$\(\s*npm run (?!--silent\b)/.test(line);
        if (reads) problems.push(`${file}: ${text.trim()}`);
      }
    }
    assert.deepEqual(problems, [], "use `npm run --silent ...`: npm prints its banner on stdout, ahead of the script's own output");
  });

  it("tells headings, links and unsilenced redirects apart (so the checks above can fail)", () => {
    const md = "# Top\n\n## Parked events: list and replay\n\n## Top\n\n```sh\n# not a heading\n```\n";
    assert.deepEqual([...anchorsOf(md)], ["top", "parked-events-list-and-replay", "top-1"]);
    assert.deepEqual(codeLines("text > x\n```sh\nnpm run event -- sqs > a.json\n```\n"), ["npm run event -- sqs > a.json"]);
    assert.deepEqual(linksOf('[a](docs/x.md#y) `[b](c.md)`\n```\n[d](e.md)\n```\n[f](#top "title")'), ["docs/x.md#y", "#top"]);
  });
});
