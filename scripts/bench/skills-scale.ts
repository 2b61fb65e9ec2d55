/**
 * The skill sync at 1×, 5× and 20× the size of the Skill App's data (1× = 500 assessments,
 * 50 template releases, 200 badge classes, 5,000 assertions): a first sync into an empty
 * database and a re-sync with no upstream change, each in a fresh `node` process that runs
 * the sync as its function's bundle is built, against stand-ins in this process (Airtable,
 * Badgr and GitHub over HTTP, generating their pages as asked; s3rver) and a database of its
 * own on the MySQL server at MYSQL_URL. Each reports its wall and CPU time, its peak RSS
 * (maxRSS) and the MySQL statements it sent.
 *
 *   npm run bench -- --skills-scale            1×, 5×, 20× (printed, not saved)
 *   npm run bench -- --skills-scale=1,5 --runs=3
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { bundleHandler } from "../../components/lambda/bundle";
import { type HttpStub, type StubResponse, startStub } from "../../tooling/local/http-stub";
import { createBrnDatabase } from "../../tooling/local/mysql";
import { startS3rver } from "../../tooling/local/s3";
import { commitShaAnswer, zipball } from "../../tooling/local/zip";
import type { ChildInput, ChildReport } from "./skills-scale-child";
import { median, quantile } from "./stats";

export const SCALES = [1, 5, 20];
/** The data at 1×. */
export const BASE_SIZE = { assessments: 500, templates: 50, badges: 200, assertions: 5_000 };
/** Airtable answers 100 records a page at most; the Badgr stand-in pages as much. */
export const PAGE_SIZE = 100;

export interface SkillsData {
  assessments: number;
  templates: number;
  badges: number;
  assertions: number;
}

export const dataAt = (scale: number): SkillsData => ({
  assessments: BASE_SIZE.assessments * scale,
  templates: BASE_SIZE.templates * scale,
  badges: BASE_SIZE.badges * scale,
  assertions: BASE_SIZE.assertions * scale,
});

/** A Badgr-like entity id (22 characters of base64url), the same for the same index every run. */
const entityId = (kind: string, i: number) => createHash("sha256").update(`${kind}${i}`).digest("base64url").slice(0, 22);
const hex = (seed: string, length: number) => createHash("sha256").update(seed).digest("hex").slice(0, length);
const lorem = (words: number, seed: number) =>
  Array.from(
    { length: words },
    (_, i) =>
      ["data", "analysis", "genome", "sequence", "python", "learners", "review", "pipeline", "variant", "statistics"][(seed + i * 7) % 10],
  ).join(" ");

/** Airtable's order is not the key's: record i has id (i·7919 mod n) + 1. */
const assessmentId = (i: number, n: number) => ((i * 7919) % n) + 1;

function assessmentRecord(i: number, data: SkillsData) {
  const id = assessmentId(i, data.assessments);
  return {
    id: `rec${hex(`rec${i}`, 14)}`,
    createdTime: "2022-05-01T10:00:00.000Z",
    fields: {
      id,
      name: `Assessment ${id}: ${lorem(4, id)}`,
      description: lorem(14, id),
      core_skill_areas: ["Programming", "Data analysis"],
      languages: [id % 2 ? "Python" : "R"],
      types: ["Skill assessment"],
      prerequisites: id > 1 ? [`Assessment ${id - 1}`] : [],
      long_description: lorem(90, id),
      review_required: id % 3 === 0,
      github_org: "Bioinformatics-Research-Network",
      repo_prefix: `skill-assessment-${id}`,
      install_id: 27458935,
      ...(id <= data.templates ? { template_repo: `skill-template-${id}`, latest_release: "v1.0.0" } : {}),
    },
  };
}

function badgeClass(i: number) {
  const id = entityId("badge", i);
  return {
    entityType: "BadgeClass",
    entityId: id,
    openBadgeId: `https://api.badgr.io/public/badges/${id}`,
    createdAt: "2022-05-04T18:28:32Z",
    createdBy: "xWZK0bvbQ3yYeTNNnZFWyQ",
    issuer: "ISSUER",
    issuerOpenBadgeId: "https://api.badgr.io/public/issuers/ISSUER",
    name: `Badge ${i}: ${lorem(3, i)}`,
    image: `https://media.badgr.com/uploads/badges/issuer_badgeclass_${hex(`img${i}`, 32)}.png`,
    description: lorem(40, i),
    achievementType: null,
    criteriaUrl: null,
    criteriaNarrative: lorem(30, i + 1),
    alignments: [],
    tags: ["bioinformatics", i % 2 ? "python" : "r"],
    expires: { amount: 2, duration: "years" },
    extensions: {},
  };
}

function assertion(i: number, data: SkillsData) {
  const id = entityId("assertion", i);
  const createdAt = new Date(Date.UTC(2022, 0, 1) + i * 60_000).toISOString().replace(/\.000Z$/, "Z");
  return {
    entityType: "Assertion",
    entityId: id,
    openBadgeId: `https://api.badgr.io/public/assertions/${id}`,
    createdAt,
    createdBy: "xWZK0bvbQ3yYeTNNnZFWyQ",
    badgeclass: entityId("badge", i % data.badges),
    badgeclassOpenBadgeId: `https://api.badgr.io/public/badges/${entityId("badge", i % data.badges)}`,
    issuer: "ISSUER",
    issuerOpenBadgeId: "https://api.badgr.io/public/issuers/ISSUER",
    image: `https://api.badgr.io/public/assertions/${id}/image`,
    recipient: {
      identity: `sha256$${hex(`id${i}`, 64)}`,
      hashed: true,
      type: "email",
      plaintextIdentity: `learner${i}@example.org`,
      salt: hex(`salt${i}`, 32),
    },
    issuedOn: createdAt,
    narrative: null,
    evidence: [{ url: `https://github.com/learner${i}/skill-assessment/pull/1`, narrative: lorem(12, i) }],
    revoked: false,
    revocationReason: null,
    acceptance: "Accepted",
    expires: i % 4 ? null : "2026-01-01T00:00:00Z",
    extensions: {},
  };
}

/** The files of a template release: its commit follows from them. */
const templateFiles = (repo: string) => ({
  "README.md": `# ${repo}\n\n${lorem(40, repo.length)}`,
  "src/main.py": "def main():\n    return 1\n",
  "tests/test_main.py": "def test_main():\n    assert True\n",
});

export interface SkillsUpstream extends HttpStub {
  data: SkillsData;
}

/**
 * Airtable, Badgr and GitHub for `data`, generating each page as it is asked for. Badgr
 * pages by `badgrPageSize` with `Link: rel="next"` (Infinity: everything in one answer).
 */
export async function startSkillsUpstream(data: SkillsData, options: { badgrPageSize?: number } = {}): Promise<SkillsUpstream> {
  const badgrPageSize = options.badgrPageSize ?? PAGE_SIZE;
  const archives = new Map<string, Promise<Buffer>>();
  const archive = (repo: string) => {
    if (!archives.has(repo)) archives.set(repo, zipball(templateFiles(repo)));
    return archives.get(repo)!;
  };
  const templateRepo = (repo: string) => {
    const id = Number(/^skill-template-(\d+)$/.exec(repo)?.[1]);
    return id >= 1 && id <= data.templates;
  };
  let stub: HttpStub;
  const badgrPage = (path: string, cursor: number, total: number, item: (i: number) => unknown): StubResponse => {
    const end = Math.min(total, cursor + badgrPageSize);
    const result = Array.from({ length: end - cursor }, (_, k) => item(cursor + k));
    return {
      headers: end < total ? { link: `<${stub.url}${path}?cursor=${end}>; rel="next"` } : {},
      body: { status: { success: true, description: "ok" }, result },
    };
  };
  stub = await startStub(async (req): Promise<StubResponse> => {
    if (/^\/v0\/[^/]+\/assessments$/.test(req.path)) {
      const offset = Number(req.query.get("offset") ?? 0);
      const end = Math.min(data.assessments, offset + Math.min(PAGE_SIZE, Number(req.query.get("pageSize") ?? PAGE_SIZE)));
      const records = Array.from({ length: end - offset }, (_, k) => assessmentRecord(offset + k, data));
      return { body: { records, ...(end < data.assessments ? { offset: String(end) } : {}) } };
    }
    if (req.path === "/badgr/o/token/") return { body: { access_token: "badgr-token", token_type: "Bearer", expires_in: 86400 } };
    const cursor = Number(req.query.get("cursor") ?? 0);
    if (req.path === "/badgr/v2/issuers/ISSUER/badgeclasses") return badgrPage(req.path, cursor, data.badges, badgeClass);
    if (req.path === "/badgr/v2/issuers/ISSUER/assertions") return badgrPage(req.path, cursor, data.assertions, (i) => assertion(i, data));
    const github = /^\/github\/repos\/[^/]+\/([^/]+)\/(commits|zipball)\/([^/]+)$/.exec(req.path);
    if (github && templateRepo(github[1])) {
      const bytes = await archive(github[1]);
      if (github[2] === "commits") return commitShaAnswer(bytes, req.headers["if-none-match"]);
      return { headers: { "content-type": "application/zip" }, body: bytes };
    }
    return { status: 404, body: { message: "Not Found" } };
  });
  return Object.assign(stub, { data });
}

/** A fresh BRN database, bucket and upstream for one scale; `run` is given the child's input. */
export async function withSkillsStandIns<T>(
  scale: number,
  run: (input: ChildInput, upstream: SkillsUpstream) => Promise<T>,
  options: { badgrPageSize?: number } = {},
): Promise<T> {
  const data = dataAt(scale);
  const upstream = await startSkillsUpstream(data, options);
  const s3 = await startS3rver([]);
  const bucket = `bench-templates-${scale}`;
  await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
  const db = await createBrnDatabase("tributary_skills_scale");
  try {
    // Generous page caps: the stand-in pages by 100, and 20× has 1,000 pages of assertions.
    return await run({ dbUrl: db.url, upstreamUrl: upstream.url, s3Endpoint: s3.endpoint, bucket, maxPages: 10_000 }, upstream);
  } finally {
    await db.drop();
    await s3.close();
    await upstream.close();
  }
}

/** Runs a process to its end; its stdout, and its wall time from spawn to exit. */
export function runProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ stdout: string; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
      if (code === 0) resolve({ stdout, wallMs });
      else reject(new Error(`${command} exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

export interface SyncRun extends ChildReport {
  /** Spawn to exit. */
  processMs: number;
  requests: number;
}

/** The child, bundled with the options of the functions' bundles. */
export async function childBundle(): Promise<string> {
  return (await bundleHandler({ handler: "skills-scale-child", entry: "scripts/bench/skills-scale-child.ts" })).file;
}

/** The first sync and the re-sync at one scale, each in a fresh process. */
export async function syncTwice(bundle: string, scale: number): Promise<[SyncRun, SyncRun]> {
  return withSkillsStandIns(scale, async (input, upstream) => {
    const runs: SyncRun[] = [];
    for (let i = 0; i < 2; i++) {
      const before = upstream.requests.length;
      const { stdout, wallMs } = await runProcess(process.execPath, [bundle, JSON.stringify(input)], {
        ...process.env,
        POWERTOOLS_LOG_LEVEL: "SILENT",
      });
      runs.push({ ...(JSON.parse(stdout) as ChildReport), processMs: wallMs, requests: upstream.requests.length - before });
      upstream.requests.length = 0;
    }
    return runs as [SyncRun, SyncRun];
  });
}

/** Bare `node -e 0` (reading its VmHWM): its peak RSS (KB) and wall time, the floor beside every figure. */
export async function nodeFloor(): Promise<{ maxRssKb: number; wallMs: number }> {
  const { stdout, wallMs } = await runProcess(process.execPath, [
    "-e",
    `process.stdout.write(/VmHWM:\\s*(\\d+)/.exec(require("fs").readFileSync("/proc/self/status", "utf8"))[1])`,
  ]);
  return { maxRssKb: Number(stdout), wallMs };
}

const mb = (kb: number) => (kb / 1024).toFixed(0);
const spread = (values: number[], format: (v: number) => string) =>
  values.length > 1 ? `${format(median(values))} (${format(quantile(values, 0.25))}–${format(quantile(values, 0.75))})` : format(values[0]);
const statementsLine = (s: Record<string, number>) =>
  `${Object.values(s).reduce((a, b) => a + b, 0)} (${Object.entries(s)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} ${k}`)
    .join(", ")})`;

export async function skillsScaleSection(say: (line?: string) => void, options: { scales?: number[]; runs?: number } = {}): Promise<void> {
  const scales = options.scales ?? SCALES;
  const runs = options.runs ?? 1;
  const bundle = await childBundle();
  say("## skill-sync at scale (memory flat in the data's size)");
  say();
  say(
    `1× is ${BASE_SIZE.assessments} assessments, ${BASE_SIZE.templates} template releases, ${BASE_SIZE.badges} badge classes and ${BASE_SIZE.assertions.toLocaleString("en")} assertions. Each sync runs in a fresh \`node\` process (the sync bundled as its function is) against stand-ins generating Airtable's and Badgr's pages (${PAGE_SIZE} a page), GitHub's release archives, s3rver and a fresh database on MariaDB. Wall and CPU are the sync's own (process start excluded); peak RSS is the process's VmHWM (getrusage's maxRSS would start from the parent's RSS at the fork), at the end and when the tables were done (the templates' first S3 request). ${runs > 1 ? `Medians of ${runs} runs, with the interquartile range.` : "One run each."} Goals: peak RSS at 20× ≤ 1.5× the peak at 1×.`,
  );
  say();
  say(
    "| scale | sync | wall | CPU | peak RSS (MB) | peak RSS by the tables' end (MB) | MySQL statements | rows written | HTTP requests | node -e 0: wall, peak RSS |",
  );
  say("|---|---|---:|---:|---:|---:|---|---:|---:|---|");
  const peaks: Record<string, number[]> = {};
  for (const scale of scales) {
    const results: [SyncRun[], SyncRun[]] = [[], []];
    const floors: { maxRssKb: number; wallMs: number }[] = [];
    for (let r = 0; r < runs; r++) {
      floors.push(await nodeFloor());
      const [first, again] = await syncTwice(bundle, scale);
      results[0].push(first);
      results[1].push(again);
    }
    for (const [i, label] of ["first sync", "no-change re-sync"].entries()) {
      const rs = results[i];
      const failed = rs.flatMap((r) => r.errors);
      if (failed.length > 0) throw new Error(`skills-scale ${scale}× ${label} failed: ${failed.join("; ")}`);
      peaks[`${label} ${scale}`] = rs.map((r) => r.maxRssKb);
      const d = dataAt(scale);
      say(
        `| ${scale}× (${d.assessments.toLocaleString("en")} / ${d.templates} / ${d.badges.toLocaleString("en")} / ${d.assertions.toLocaleString("en")}) | ${label} | ${spread(
          rs.map((r) => r.wallMs),
          (v) => `${v.toFixed(0)} ms`,
        )} | ${spread(
          rs.map((r) => r.cpuMs),
          (v) => `${v.toFixed(0)} ms`,
        )} | ${spread(
          rs.map((r) => r.maxRssKb),
          mb,
        )} | ${spread(
          rs.map((r) => r.tablesDone?.maxRssKb ?? 0),
          mb,
        )} | ${statementsLine(rs[0].statements)} | ${rs[0].rowsWritten} | ${rs[0].requests} | ${median(floors.map((f) => f.wallMs)).toFixed(0)} ms, ${mb(median(floors.map((f) => f.maxRssKb)))} MB |`,
      );
    }
  }
  const top = Math.max(...scales);
  const bottom = Math.min(...scales);
  if (top !== bottom) {
    say();
    for (const label of ["first sync", "no-change re-sync"]) {
      say(
        `- ${label}: peak RSS at ${top}× is ${(median(peaks[`${label} ${top}`]) / median(peaks[`${label} ${bottom}`])).toFixed(2)}× the peak at ${bottom}× (goal ≤ 1.5×).`,
      );
    }
  }
  say();
}
