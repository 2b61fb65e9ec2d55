/**
 * The Skill App sync: assessments from Airtable, badge classes and assertions from Badgr,
 * into the BRN MySQL database, and each assessment's template release from GitHub into the
 * bot's bucket. A failing source does not stop the others; the summary counts, per source,
 * what was created, updated, unchanged and failed, and the sync throws at the end if any
 * source failed, so that the scheduler's retry and dead-letter queue see it.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { createPool, type Pool } from "mysql2/promise";
import { TimeBudget } from "../lib/budget";
import { requireEnv, wholeNumberEnv } from "../lib/env";
import { SKILLS_ENV, type SkillsSecret } from "../lib/env-names";
import type { RetryPolicy } from "../lib/http";
import { logger } from "../lib/logger";
import { readSecret } from "../lib/secrets";
import { ASSERTIONS, ASSESSMENTS, BADGES } from "./brn-schema";
import { assertionRow, assessmentRow, badgeRow, type RowResult } from "./rows";
import { emptySummary, type Row, type SourceSummary, syncRows } from "./store";
import { type ArchiveBounds, markerKey, syncedReleases, syncTemplate } from "./templates";
import { badgrList, badgrToken, listAirtableRecords } from "./upstream";

export interface SkillSyncConfig {
  /** The BRN database (MySQL). */
  db: () => Promise<Pool>;
  bucket: string;
  airtable: { apiUrl: string; baseId: string; table: string; maxPages: number };
  badgr: { baseUrl: string; issuerId: string; scope: string; grantType: string; maxPages: number };
  github: { apiUrl: string; org: string };
  templates: ArchiveBounds;
  /** Reads a secret; an optional one (GITHUB_TOKEN) may resolve to undefined. */
  secret: (name: SkillsSecret) => Promise<string | undefined>;
  s3: S3Client;
  retry?: RetryPolicy;
}

export type SyncSummary = Record<"assessments" | "badges" | "assertions" | "templates", SourceSummary>;

export class SyncFailedError extends Error {
  constructor(readonly summary: SyncSummary) {
    const failed = Object.entries(summary)
      .filter(([, s]) => s.failed > 0)
      .map(([source, s]) => `${source} (${s.failed} failed: ${s.errors.join("; ")})`);
    super(`skill sync failed for ${failed.join(", ")}. Summary: ${JSON.stringify(summary)}`);
    this.name = "SyncFailedError";
  }
}

/**
 * Uploads send a known length; the SDK's default trailing checksums (aws-chunked bodies)
 * are left for S3 operations that require them, which S3-compatible servers need.
 */
export const S3_CLIENT_DEFAULTS = { requestChecksumCalculation: "WHEN_REQUIRED" } as const;

async function required(config: SkillSyncConfig, name: SkillsSecret): Promise<string> {
  const value = await config.secret(name);
  if (!value) throw new Error(`secret ${name} is empty`);
  return value;
}

function sourceFailure(err: unknown): SourceSummary {
  return { ...emptySummary(), failed: 1, errors: [err instanceof Error ? err.message : String(err)] };
}

/** Writes the rows that could be made; the records that could not count as failed. */
async function writeRows(config: SkillSyncConfig, table: typeof ASSESSMENTS, results: RowResult[]): Promise<{ summary: SourceSummary; rows: Row[] }> {
  const rows = results.flatMap((r) => ("row" in r ? [r.row] : []));
  const errors = results.flatMap((r) => ("error" in r ? [r.error] : []));
  const summary = await syncRows(await config.db(), table, rows);
  return { summary: { ...summary, failed: summary.failed + errors.length, errors: [...errors, ...summary.errors] }, rows };
}

async function syncAssessments(config: SkillSyncConfig, budget: TimeBudget) {
  const records = await listAirtableRecords({ ...config.airtable, token: await required(config, "AIRTABLE_TOKEN") }, config.retry, budget);
  return writeRows(config, ASSESSMENTS, records.map(assessmentRow));
}

async function syncBadgr(config: SkillSyncConfig, budget: TimeBudget): Promise<Pick<SyncSummary, "badges" | "assertions">> {
  const token = await badgrToken(
    config.badgr.baseUrl,
    {
      username: await required(config, "BADGR_USERNAME"),
      password: await required(config, "BADGR_PASSWORD"),
      clientId: await required(config, "BADGR_CLIENT_ID"),
      scope: config.badgr.scope,
      grantType: config.badgr.grantType,
    },
    config.retry,
    budget,
  );
  const issuer = encodeURIComponent(config.badgr.issuerId);
  const badges = await badgrList(config.badgr.baseUrl, `/v2/issuers/${issuer}/badgeclasses`, token, config.badgr.maxPages, config.retry, budget);
  const { summary: badgeSummary } = await writeRows(config, BADGES, badges.map(badgeRow));
  let assertions: SourceSummary;
  try {
    const names = new Map(badges.map((b) => [String(b.entityId), String(b.name ?? "")]));
    const list = await badgrList(config.badgr.baseUrl, `/v2/issuers/${issuer}/assertions`, token, config.badgr.maxPages, config.retry, budget);
    assertions = (await writeRows(config, ASSERTIONS, list.map((a) => assertionRow(a, names)))).summary;
  } catch (err) {
    assertions = sourceFailure(err);
  }
  return { badges: badgeSummary, assertions };
}

async function syncTemplates(config: SkillSyncConfig, assessments: Row[], budget: TimeBudget): Promise<SourceSummary> {
  const summary = emptySummary();
  const token = await config.secret("GITHUB_TOKEN");
  const synced = await syncedReleases(config.s3, config.bucket);
  for (const assessment of assessments) {
    const { template_repo: repo, latest_release: release, id } = assessment;
    if (typeof repo !== "string" || typeof release !== "string") continue;
    if (synced.has(markerKey(repo, release))) {
      summary.unchanged += 1;
      continue;
    }
    if (budget.exhausted()) {
      // Started templates finish; the rest wait for the next run, and this one is reported failed.
      summary.failed += 1;
      summary.errors.push(`assessment ${id} (${repo}@${release}): not started before the time budget ran out`);
      continue;
    }
    try {
      const result = await syncTemplate(config.s3, config.bucket, { ...config.github, repo, release, token }, config.templates, config.retry, budget);
      summary.created += 1;
      summary.skipped.push(...result.skipped.map((s) => `assessment ${id} (${repo}@${release}): skipped ${s}`));
      logger.info("template synced", { assessment: id, repo, release, files: result.keys.length, skipped: result.skipped.length });
    } catch (err) {
      summary.failed += 1;
      summary.errors.push(`assessment ${id} (${repo}@${release}): ${(err as Error).message}`);
    }
  }
  return summary;
}

/**
 * Runs every source within `budget`; returns the summary, or throws SyncFailedError
 * carrying it, what the budget left undone included.
 */
export async function runSync(config: SkillSyncConfig, budget: TimeBudget = TimeBudget.unbounded()): Promise<SyncSummary> {
  const [assessments, badgr] = await Promise.allSettled([syncAssessments(config, budget), syncBadgr(config, budget)]);
  const summary: SyncSummary = {
    assessments: assessments.status === "fulfilled" ? assessments.value.summary : sourceFailure(assessments.reason),
    badges: badgr.status === "fulfilled" ? badgr.value.badges : sourceFailure(badgr.reason),
    assertions: badgr.status === "fulfilled" ? badgr.value.assertions : sourceFailure(badgr.reason),
    templates:
      assessments.status === "fulfilled"
        ? await syncTemplates(config, assessments.value.rows, budget).catch(sourceFailure)
        : sourceFailure(new Error("assessments could not be listed, so no template was checked")),
  };
  logger.info("skill sync finished", { summary });
  if (Object.values(summary).some((s) => s.failed > 0)) throw new SyncFailedError(summary);
  return summary;
}

/** A pool of at most two connections, for one sync at a time, reading DATETIME as UTC text. */
export function brnPool(url: string): Pool {
  return createPool({ uri: url, connectionLimit: 2, dateStrings: true, timezone: "Z", enableKeepAlive: true });
}


/** Configuration from the function's environment, with the upstream services' real defaults. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): SkillSyncConfig {
  const secret = (name: SkillsSecret) =>
    name === "GITHUB_TOKEN" && !env.GITHUB_TOKEN && !env.GITHUB_TOKEN_PARAM ? Promise.resolve(undefined) : readSecret(name, env);
  // Made once per container, when the first sync needs it; a failed connection is tried again next time.
  let pool: Promise<Pool> | undefined;
  return {
    db: () => {
      pool ??= (secret("BRN_DATABASE_URL") as Promise<string>).then(brnPool);
      pool.catch(() => (pool = undefined));
      return pool;
    },
    bucket: requireEnv(SKILLS_ENV.templatesBucket, env),
    airtable: {
      apiUrl: env[SKILLS_ENV.airtableApiUrl] || "https://api.airtable.com/v0",
      baseId: requireEnv(SKILLS_ENV.airtableBaseId, env),
      table: env[SKILLS_ENV.airtableTable] || "assessments",
      maxPages: wholeNumberEnv(SKILLS_ENV.airtableMaxPages, 100, env),
    },
    badgr: {
      baseUrl: env[SKILLS_ENV.badgrBaseUrl] || "https://api.badgr.io",
      issuerId: requireEnv(SKILLS_ENV.badgrIssuerId, env),
      scope: env[SKILLS_ENV.badgrScope] || "rw:issuer rw:backpack",
      grantType: env[SKILLS_ENV.badgrGrantType] || "password",
      maxPages: wholeNumberEnv(SKILLS_ENV.badgrMaxPages, 100, env),
    },
    github: { apiUrl: env[SKILLS_ENV.githubApiUrl] || "https://api.github.com", org: requireEnv(SKILLS_ENV.githubOrg, env) },
    templates: {
      maxBytes: wholeNumberEnv(SKILLS_ENV.templatesMaxBytes, 100 * 1024 * 1024, env),
      maxEntries: wholeNumberEnv(SKILLS_ENV.templatesMaxEntries, 5_000, env),
    },
    secret,
    // Local S3-compatible servers need path-style addressing; real S3 keeps its default.
    s3: new S3Client({ ...S3_CLIENT_DEFAULTS, forcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL) }),
  };
}
