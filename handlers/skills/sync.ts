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
import { HttpError, type RetryPolicy } from "../lib/http";
import { logger } from "../lib/logger";
import { SecretReader } from "../lib/secrets";
import { ssmFetcher } from "../lib/ssm-fetcher";
import { ASSERTIONS, ASSESSMENTS, BADGES, type BrnTable } from "./brn-schema";
import { assertionRow, assessmentRow, badgeRow } from "./rows";
import { DatabaseConnectionError, emptySummary, type Row, type RowResult, type SourceSummary, syncRows } from "./store";
import { type ArchiveBounds, markerKey, syncedReleases, syncTemplate } from "./templates";
import { airtablePages, badgrPages, badgrToken } from "./upstream";

export interface SkillSyncConfig {
  /** The BRN database (MySQL): the pool for the URL its secret holds now. */
  db: () => Promise<Pool>;
  /**
   * After MySQL refused the credentials of `refused` (ER_ACCESS_DENIED_ERROR): reads the URL
   * again; true when `db` now gives a pool for another URL, so that the write is tried once more.
   */
  renewDb?: (refused: Pool) => Promise<boolean>;
  /** Ends the pools `db` replaced during the run (called when the run is over). */
  endReplacedPools?: () => Promise<void>;
  bucket: string;
  airtable: { apiUrl: string; baseId: string; table: string; maxPages: number };
  badgr: { baseUrl: string; issuerId: string; scope: string; grantType: string; maxPages: number };
  github: { apiUrl: string; org: string };
  templates: ArchiveBounds;
  /** Reads a secret; an optional one (GITHUB_TOKEN) may resolve to undefined. */
  secret: (name: SkillsSecret) => Promise<string | undefined>;
  /** Reads a secret again, after the upstream refused it; absent, a refusal fails its source at once. */
  refreshSecret?: (name: SkillsSecret) => Promise<string | undefined>;
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

/**
 * The upstream refused the credentials: 401, or the 400 `invalid_grant` an OAuth2 password
 * grant (Badgr's token endpoint) answers to a wrong user name or password.
 */
const refusedCredentials = (err: unknown) =>
  err instanceof HttpError && (err.status === 401 || (err.status === 400 && (err.detail ?? "").includes("invalid_grant")));

/**
 * Runs requests with the secrets `names`; when the upstream refuses them and a secret read
 * again differs (it was rotated since it was read), the refused request is sent once more
 * with the new values, and the requests after it use them. Secrets are read again once a run.
 */
function secretsFor(config: SkillSyncConfig, names: SkillsSecret[]): <T>(use: (values: string[]) => Promise<T>) => Promise<T> {
  let values: Promise<string[]> | undefined;
  let renewed = false;
  return async (use) => {
    values ??= Promise.all(names.map((name) => required(config, name)));
    const current = await values;
    try {
      return await use(current);
    } catch (err) {
      if (renewed || !refusedCredentials(err) || !config.refreshSecret) throw err;
      renewed = true;
      const fresh = await Promise.all(names.map((name) => config.refreshSecret!(name)));
      if (fresh.every((value, i) => value === current[i])) throw err;
      values = Promise.all(names.map((name) => required(config, name)));
      return use(await values);
    }
  };
}

/**
 * An upstream list, read page by page and once. It remembers whether the upstream failed,
 * and can be read to its end without its pages being written, for what reading them records
 * (the templates, the badges' names) when the write stopped early.
 */
class Listing<T> implements AsyncIterable<T[]> {
  failure?: unknown;
  private ended = false;
  private readonly pages: AsyncIterator<T[]>;

  constructor(pages: AsyncIterable<T[]>) {
    this.pages = pages[Symbol.asyncIterator]();
  }

  private async next(): Promise<T[] | undefined> {
    if (this.ended) return undefined;
    let page: IteratorResult<T[]>;
    try {
      page = await this.pages.next();
    } catch (err) {
      this.ended = true;
      this.failure = err;
      throw err;
    }
    if (page.done) this.ended = true;
    return page.done ? undefined : page.value;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T[]> {
    for (let page = await this.next(); page; page = await this.next()) yield page;
  }

  /** Reads the pages left; an upstream failure is kept in `failure`. */
  async drain(): Promise<void> {
    try {
      while (await this.next());
    } catch {
      // Kept in `failure`.
    }
  }
}

async function* mapPages<T, U>(pages: AsyncIterable<T[]>, map: (item: T) => U): AsyncGenerator<U[]> {
  for await (const page of pages) yield page.map(map);
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function sourceFailure(err: unknown): SourceSummary {
  return { ...emptySummary(), failed: 1, errors: [message(err)] };
}

/** MySQL's ER_ACCESS_DENIED_ERROR (1045): the user name or password is wrong. */
export const accessDenied = (err: unknown) => (err as { errno?: unknown })?.errno === 1045;

/**
 * The BRN database for one run. Once its connection fails, the writes that have not started
 * are not attempted: they report that, with the first error, instead of failing one by one
 * with errors that only echo it.
 */
class BrnWriter {
  private failure?: DatabaseConnectionError;

  constructor(private readonly config: SkillSyncConfig) {}

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /**
   * Writes the rows of `pages` as they come; the records that could not become rows count as
   * failed. When MySQL refuses the password (it was rotated), the URL is read again and the
   * write tried once more: the connection is made before the first page is read.
   */
  async write(table: BrnTable, pages: AsyncIterable<RowResult[]>, renewed = false): Promise<SourceSummary> {
    if (this.failure)
      return sourceFailure(`${table.name} not written: the database connection failed earlier in this run: ${this.failure.message}`);
    let pool: Pool | undefined;
    try {
      pool = await this.config.db().catch((err: unknown) => {
        throw new DatabaseConnectionError(err);
      });
      const summary = await syncRows(pool, table, pages);
      for (const t of summary.truncated) logger.warn("value truncated to its column", { ...t });
      return summary;
    } catch (err) {
      if (!renewed && pool && err instanceof DatabaseConnectionError && accessDenied(err.first) && (await this.config.renewDb?.(pool))) {
        logger.warn("the database refused the password; its URL was read again and the write is tried once more", { table: table.name });
        return this.write(table, pages, true);
      }
      if (err instanceof DatabaseConnectionError) this.failure ??= err;
      return sourceFailure(err instanceof DatabaseConnectionError ? `the database connection failed: ${err.message}` : err);
    }
  }
}

/** A release an assessment names: the first assessment to name it is the one reported. */
interface TemplateRelease {
  id: Row[string];
  repo: string;
  release: string;
}

/** Assessments from Airtable into the table; the releases they name, for the templates, even when the write failed. */
async function syncAssessments(
  config: SkillSyncConfig,
  brn: BrnWriter,
  budget: TimeBudget,
): Promise<{ summary: SourceSummary; releases?: TemplateRelease[]; listingError?: string }> {
  const token = secretsFor(config, ["AIRTABLE_TOKEN"]);
  const releases = new Map<string, TemplateRelease>();
  const records = airtablePages(config.airtable, (send) => token(([value]) => send(value)), config.retry, budget);
  const listing = new Listing(
    mapPages(records, (record) => {
      const result = assessmentRow(record);
      const { template_repo: repo, latest_release: release, id } = "row" in result ? result.row : {};
      // Assessments that share a release share its files.
      if (typeof repo === "string" && typeof release === "string" && !releases.has(markerKey(repo, release)))
        releases.set(markerKey(repo, release), { id, repo, release });
      return result;
    }),
  );
  const summary = await brn.write(ASSESSMENTS, listing);
  // The templates follow what Airtable lists, whether or not the database took it.
  await listing.drain();
  if (listing.failure) return { summary, listingError: message(listing.failure) };
  return { summary, releases: [...releases.values()] };
}

/** Badge classes, then assertions (which take their badge's name), from Badgr. */
async function syncBadgr(config: SkillSyncConfig, brn: BrnWriter, budget: TimeBudget): Promise<Pick<SyncSummary, "badges" | "assertions">> {
  const issuer = encodeURIComponent(config.badgr.issuerId);
  const notListed = (err: unknown) =>
    sourceFailure(`assertions not listed: the badge classes, which name them, could not be listed: ${message(err)}`);
  let token: string;
  try {
    token = await secretsFor(config, ["BADGR_USERNAME", "BADGR_PASSWORD", "BADGR_CLIENT_ID"])(([username, password, clientId]) =>
      badgrToken(
        config.badgr.baseUrl,
        { username, password, clientId, scope: config.badgr.scope, grantType: config.badgr.grantType },
        config.retry,
        budget,
      ),
    );
  } catch (err) {
    return { badges: sourceFailure(err), assertions: notListed(err) };
  }
  const names = new Map<string, string>();
  const badges = new Listing(
    mapPages(
      badgrPages(config.badgr.baseUrl, `/v2/issuers/${issuer}/badgeclasses`, token, config.badgr.maxPages, config.retry, budget),
      (badge) => {
        if (badge && typeof badge === "object") names.set(String(badge.entityId), String(badge.name ?? ""));
        return badgeRow(badge);
      },
    ),
  );
  const badgeSummary = await brn.write(BADGES, badges);
  // Every badge class names its assertions, whether or not the database took it.
  if (!brn.failed) await badges.drain();
  if (badges.failure) return { badges: badgeSummary, assertions: notListed(badges.failure) };
  const list = badgrPages(config.badgr.baseUrl, `/v2/issuers/${issuer}/assertions`, token, config.badgr.maxPages, config.retry, budget);
  return {
    badges: badgeSummary,
    assertions: await brn.write(
      ASSERTIONS,
      mapPages(list, (assertion) => assertionRow(assertion, names)),
    ),
  };
}

async function syncTemplates(config: SkillSyncConfig, releases: TemplateRelease[], budget: TimeBudget): Promise<SourceSummary> {
  const summary = emptySummary();
  let token = await config.secret("GITHUB_TOKEN");
  let tokenRenewed = false;
  const recorded = await syncedReleases(config.s3, config.bucket);
  for (const { id, repo, release } of releases) {
    const what = `assessment ${id} (${repo}@${release})`;
    if (budget.exhausted()) {
      // Started templates finish; the rest wait for the next run, and this one is reported failed.
      summary.failed += 1;
      summary.errors.push(`${what}: not started before the time budget ran out`);
      continue;
    }
    const sync = () =>
      syncTemplate(config.s3, config.bucket, { ...config.github, repo, release, token }, config.templates, {
        recorded: recorded.has(markerKey(repo, release)),
        retry: config.retry,
        budget,
      });
    try {
      let result: Awaited<ReturnType<typeof syncTemplate>>;
      try {
        result = await sync();
      } catch (err) {
        // A token rotated during the run: read it again once, and try this template with it.
        if (!(token && refusedCredentials(err) && config.refreshSecret && !tokenRenewed)) throw err;
        tokenRenewed = true;
        const renewed = await config.refreshSecret("GITHUB_TOKEN");
        if (renewed === token) throw err;
        token = renewed;
        result = await sync();
      }
      summary[result.outcome] += 1;
      summary.skipped.push(...result.skipped.map((s) => `${what}: skipped ${s}`));
      if (result.outcome !== "unchanged")
        logger.info("template synced", {
          assessment: id,
          repo,
          release,
          commit: result.commit,
          outcome: result.outcome,
          put: result.put.length,
          deleted: result.deleted.length,
          skipped: result.skipped.length,
        });
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
  const [assessments, badgr] = await Promise.all([syncAssessments(config, brn, budget), syncBadgr(config, brn, budget)]).finally(() =>
    config.endReplacedPools?.(),
  );
  const summary: SyncSummary = {
    assessments: assessments.summary,
    badges: badgr.badges,
    assertions: badgr.assertions,
    // The templates follow what Airtable lists, whether or not the database took it.
    templates: assessments.releases
      ? await syncTemplates(config, assessments.releases, budget).catch(sourceFailure)
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

/**
 * The BRN database's pool for the URL its secret holds now. The pool lives as long as the
 * container; a new URL (a rotation, seen once the secret's maxAge has passed or after MySQL
 * refused the password) gets a new pool, and the one it replaces is ended after the run.
 */
export class BrnPools {
  private current?: { url: string; pool: Pool };
  private replaced: Pool[] = [];

  constructor(
    private readonly url: () => Promise<string>,
    private readonly refreshUrl: () => Promise<string>,
  ) {}

  async pool(): Promise<Pool> {
    const url = await this.url();
    if (this.current?.url !== url) {
      if (this.current) this.replaced.push(this.current.pool);
      this.current = { url, pool: brnPool(url) };
    }
    return this.current.pool;
  }

  /** After MySQL refused `refused`'s password: true when the URL read again differs, or a newer pool already exists. */
  async renew(refused: Pool): Promise<boolean> {
    if (this.current && this.current.pool !== refused) return true;
    const used = this.current?.url;
    return (await this.refreshUrl()) !== used;
  }

  async endReplaced(): Promise<void> {
    await Promise.all(this.replaced.splice(0).map((pool) => pool.end().catch(() => undefined)));
  }
}

/** Configuration from the function's environment, with the upstream services' real defaults. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): SkillSyncConfig {
  // An image takes no layer, so no Parameters and Secrets extension: the SDK reads SSM.
  const secrets = new SecretReader({ env, fetch: ssmFetcher() });
  const absent = (name: SkillsSecret) => name === "GITHUB_TOKEN" && !env.GITHUB_TOKEN && !env.GITHUB_TOKEN_PARAM;
  const secret = (name: SkillsSecret) => (absent(name) ? Promise.resolve(undefined) : secrets.get(name));
  const pools = new BrnPools(
    () => secrets.get("BRN_DATABASE_URL"),
    () => secrets.refresh("BRN_DATABASE_URL"),
  );
  return {
    db: () => pools.pool(),
    renewDb: (refused) => pools.renew(refused),
    endReplacedPools: () => pools.endReplaced(),
    refreshSecret: (name) => (absent(name) ? Promise.resolve(undefined) : secrets.refresh(name)),
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
