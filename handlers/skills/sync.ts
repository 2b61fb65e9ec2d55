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
import { ASSERTIONS, ASSESSMENTS, BADGES, type BrnTable } from "./brn-schema";
import { assertionRow, assessmentRow, badgeRow, type RowResult } from "./rows";
import { DatabaseConnectionError, emptySummary, type Row, type SourceSummary, syncRows } from "./store";
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

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function sourceFailure(err: unknown): SourceSummary {
  return { ...emptySummary(), failed: 1, errors: [message(err)] };
}

/**
 * The BRN database for one run. Once its connection fails, the writes that have not started
 * are not attempted: they report that, with the first error, instead of failing one by one
 * with errors that only echo it.
 */
class BrnWriter {
  private failure?: DatabaseConnectionError;

  constructor(private readonly config: SkillSyncConfig) {}

  /** Writes the rows that could be made; the records that could not count as failed. */
  async write(table: BrnTable, results: RowResult[]): Promise<SourceSummary> {
    const rows = results.flatMap((r) => ("row" in r ? [r.row] : []));
    const errors = results.flatMap((r) => ("error" in r ? [r.error] : []));
    if (this.failure) return sourceFailure(`${table.name} not written: the database connection failed earlier in this run: ${this.failure.message}`);
    try {
      const pool = await this.config.db().catch((err: unknown) => {
        throw new DatabaseConnectionError(err);
      });
      const summary = await syncRows(pool, table, rows);
      for (const t of summary.truncated) logger.warn("value truncated to its column", { ...t });
      return { ...summary, failed: summary.failed + errors.length, errors: [...errors, ...summary.errors] };
    } catch (err) {
      if (err instanceof DatabaseConnectionError) this.failure ??= err;
      return sourceFailure(err instanceof DatabaseConnectionError ? `the database connection failed: ${err.message}` : err);
    }
  }
}

/** Assessments from Airtable into the table; the rows listed, for the templates, even when the write failed. */
async function syncAssessments(config: SkillSyncConfig, brn: BrnWriter, budget: TimeBudget): Promise<{ summary: SourceSummary; rows?: Row[]; listingError?: string }> {
  let results: RowResult[];
  try {
    const records = await listAirtableRecords({ ...config.airtable, token: await required(config, "AIRTABLE_TOKEN") }, config.retry, budget);
    results = records.map(assessmentRow);
  } catch (err) {
    return { summary: sourceFailure(err), listingError: message(err) };
  }
  return { summary: await brn.write(ASSESSMENTS, results), rows: results.flatMap((r) => ("row" in r ? [r.row] : [])) };
}

/** Badge classes, then assertions (which take their badge's name), from Badgr. */
async function syncBadgr(config: SkillSyncConfig, brn: BrnWriter, budget: TimeBudget): Promise<Pick<SyncSummary, "badges" | "assertions">> {
  const issuer = encodeURIComponent(config.badgr.issuerId);
  let token: string;
  let badges: Record<string, unknown>[];
  try {
    token = await badgrToken(
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
    badges = await badgrList(config.badgr.baseUrl, `/v2/issuers/${issuer}/badgeclasses`, token, config.badgr.maxPages, config.retry, budget);
  } catch (err) {
    return { badges: sourceFailure(err), assertions: sourceFailure(`assertions not listed: the badge classes, which name them, could not be listed: ${message(err)}`) };
  }
  const badgeSummary = await brn.write(BADGES, badges.map(badgeRow));
  let assertions: SourceSummary;
  try {
    const names = new Map(badges.map((b) => [String(b.entityId), String(b.name ?? "")]));
    const list = await badgrList(config.badgr.baseUrl, `/v2/issuers/${issuer}/assertions`, token, config.badgr.maxPages, config.retry, budget);
    assertions = await brn.write(ASSERTIONS, list.map((a) => assertionRow(a, names)));
  } catch (err) {
    assertions = sourceFailure(err);
  }
  return { badges: badgeSummary, assertions };
}

async function syncTemplates(config: SkillSyncConfig, assessments: Row[], budget: TimeBudget): Promise<SourceSummary> {
  const summary = emptySummary();
  const token = await config.secret("GITHUB_TOKEN");
  const recorded = await syncedReleases(config.s3, config.bucket);
  const done = new Set<string>();
  for (const assessment of assessments) {
    const { template_repo: repo, latest_release: release, id } = assessment;
    if (typeof repo !== "string" || typeof release !== "string") continue;
    const what = `assessment ${id} (${repo}@${release})`;
    // Assessments that share a release share its files.
    if (done.has(markerKey(repo, release))) continue;
    done.add(markerKey(repo, release));
    if (budget.exhausted()) {
      // Started templates finish; the rest wait for the next run, and this one is reported failed.
      summary.failed += 1;
      summary.errors.push(`${what}: not started before the time budget ran out`);
      continue;
    }
    try {
      const result = await syncTemplate(config.s3, config.bucket, { ...config.github, repo, release, token }, config.templates, {
        recorded: recorded.has(markerKey(repo, release)),
        retry: config.retry,
        budget,
      });
      summary[result.outcome] += 1;
      summary.skipped.push(...result.skipped.map((s) => `${what}: skipped ${s}`));
      if (result.outcome !== "unchanged") logger.info("template synced", { assessment: id, repo, release, commit: result.commit, outcome: result.outcome, put: result.put.length, deleted: result.deleted.length, skipped: result.skipped.length });
    } catch (err) {
      summary.failed += 1;
      summary.errors.push(`${what}: ${message(err)}`);
    }
  }
  return summary;
}

/**
 * Runs every source within `budget`; returns the summary, or throws SyncFailedError
 * carrying it, what the budget left undone included.
 */
export async function runSync(config: SkillSyncConfig, budget: TimeBudget = TimeBudget.unbounded()): Promise<SyncSummary> {
  const brn = new BrnWriter(config);
  const [assessments, badgr] = await Promise.all([syncAssessments(config, brn, budget), syncBadgr(config, brn, budget)]);
  const summary: SyncSummary = {
    assessments: assessments.summary,
    badges: badgr.badges,
    assertions: badgr.assertions,
    // The templates follow what Airtable lists, whether or not the database took it.
    templates: assessments.rows
      ? await syncTemplates(config, assessments.rows, budget).catch(sourceFailure)
      : sourceFailure(`no template checked: the assessments could not be listed: ${assessments.listingError}`),
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
