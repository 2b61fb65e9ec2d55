/**
 * The Skill App sync: assessments from Airtable, badge classes and assertions from Badgr,
 * and each assessment's template release from GitHub into S3. A failing source does not
 * stop the others; the summary counts, per source, what was created, updated, unchanged
 * and failed, and the sync throws at the end if any source failed, so that the
 * scheduler's retry and dead-letter queue see it.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { SKILLS_ENV, type SkillsSecret } from "../env-names";
import type { RetryPolicy } from "../http";
import { logger } from "../logger";
import { requireEnv } from "../env";
import { readSecret } from "../secrets";
import { emptySummary, type SourceSummary, syncItems } from "./store";
import { syncTemplate } from "./templates";
import { badgrList, badgrToken, flattenAssertion, listAirtableRecords } from "./upstream";

export interface SkillSyncConfig {
  tables: { assessments: string; badges: string; assertions: string };
  bucket: string;
  airtable: { apiUrl: string; baseId: string; table: string };
  badgr: { baseUrl: string; issuerId: string };
  github: { apiUrl: string; org: string };
  /** Reads a secret; an optional one (GITHUB_TOKEN) may resolve to undefined. */
  secret: (name: SkillsSecret) => Promise<string | undefined>;
  documents: DynamoDBDocumentClient;
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
 * Uploads stream with a known length; the SDK's default trailing checksums (aws-chunked
 * bodies) are left for S3 operations that require them, which S3-compatible servers need.
 */
export const S3_CLIENT_DEFAULTS = { requestChecksumCalculation: "WHEN_REQUIRED" } as const;

/** Attributes of an assessment item that are ours, not Airtable's. */
const SYNCED_RELEASE = "synced_release";

async function required(config: SkillSyncConfig, name: SkillsSecret): Promise<string> {
  const value = await config.secret(name);
  if (!value) throw new Error(`secret ${name} is empty`);
  return value;
}

function sourceFailure(err: unknown): SourceSummary {
  return { ...emptySummary(), failed: 1, errors: [err instanceof Error ? err.message : String(err)] };
}

async function syncAssessments(config: SkillSyncConfig) {
  const records = await listAirtableRecords({ ...config.airtable, token: await required(config, "AIRTABLE_TOKEN") }, config.retry);
  const items: Record<string, unknown>[] = [];
  const skipped: string[] = [];
  for (const record of records) {
    const id = record?.fields?.id;
    if ((typeof id !== "string" || id === "") && typeof id !== "number") {
      // One bad record is reported and skipped; it does not stop the others.
      skipped.push(`record ${String(record?.id)}: fields.id is missing or not a string`);
      continue;
    }
    items.push({ ...record.fields, id: String(id) });
  }
  const result = await syncItems(config.documents, config.tables.assessments, "id", items, [SYNCED_RELEASE]);
  result.failed += skipped.length;
  result.errors.push(...skipped);
  return { summary: result, items, stored: result.stored };
}

async function syncBadgr(config: SkillSyncConfig): Promise<Pick<SyncSummary, "badges" | "assertions">> {
  const token = await badgrToken(
    config.badgr.baseUrl,
    {
      username: await required(config, "BADGR_USERNAME"),
      password: await required(config, "BADGR_PASSWORD"),
      clientId: await required(config, "BADGR_CLIENT_ID"),
    },
    config.retry,
  );
  const issuer = encodeURIComponent(config.badgr.issuerId);
  const badges = await badgrList(config.badgr.baseUrl, `/v2/issuers/${issuer}/badgeclasses`, token, config.retry);
  const badgeSummary = await syncItems(config.documents, config.tables.badges, "entityId", badges.filter((b) => b.entityId));
  let assertions: SourceSummary;
  try {
    const names = new Map(badges.map((b) => [String(b.entityId), String(b.name ?? "")]));
    const list = await badgrList(config.badgr.baseUrl, `/v2/issuers/${issuer}/assertions`, token, config.retry);
    assertions = await syncItems(
      config.documents,
      config.tables.assertions,
      "entityId",
      list.filter((a) => a.entityId).map((a) => flattenAssertion(a, names)),
    );
  } catch (err) {
    assertions = sourceFailure(err);
  }
  return { badges: strip(badgeSummary), assertions: strip(assertions) };
}

async function syncTemplates(
  config: SkillSyncConfig,
  assessments: Record<string, unknown>[],
  stored: Map<string, Record<string, any>>,
): Promise<SourceSummary> {
  const summary = emptySummary();
  const token = await config.secret("GITHUB_TOKEN");
  for (const assessment of assessments) {
    const release = assessment.latest_release;
    const repo = assessment.template_repo;
    if (typeof release !== "string" || !release || typeof repo !== "string" || !repo) continue;
    const id = String(assessment.id);
    if (stored.get(id)?.[SYNCED_RELEASE] === release) {
      summary.unchanged += 1;
      continue;
    }
    try {
      const keys = await syncTemplate(config.s3, config.bucket, { ...config.github, repo, release, token }, config.retry);
      // Recorded only once every file is up, so that a failed upload is retried next time.
      await config.documents.send(
        new UpdateCommand({
          TableName: config.tables.assessments,
          Key: { id },
          UpdateExpression: "SET #release = :release",
          ExpressionAttributeNames: { "#release": SYNCED_RELEASE },
          ExpressionAttributeValues: { ":release": release },
        }),
      );
      summary[stored.get(id)?.[SYNCED_RELEASE] ? "updated" : "created"] += 1;
      logger.info("template synced", { assessment: id, repo, release, files: keys.length });
    } catch (err) {
      summary.failed += 1;
      summary.errors.push(`assessment ${id} (${repo}@${release}): ${(err as Error).message}`);
    }
  }
  return summary;
}

function strip(summary: SourceSummary & { stored?: unknown }): SourceSummary {
  const { stored: _stored, ...rest } = summary;
  return rest;
}

/** Runs every source; returns the summary, or throws SyncFailedError carrying it. */
export async function runSync(config: SkillSyncConfig): Promise<SyncSummary> {
  const [assessments, badgr] = await Promise.allSettled([syncAssessments(config), syncBadgr(config)]);
  const summary: SyncSummary = {
    assessments: assessments.status === "fulfilled" ? strip(assessments.value.summary) : sourceFailure(assessments.reason),
    badges: badgr.status === "fulfilled" ? badgr.value.badges : sourceFailure(badgr.reason),
    assertions: badgr.status === "fulfilled" ? badgr.value.assertions : sourceFailure(badgr.reason),
    templates:
      assessments.status === "fulfilled"
        ? await syncTemplates(config, assessments.value.items, assessments.value.stored)
        : sourceFailure(new Error("assessments could not be listed, so no template was checked")),
  };
  logger.info("skill sync finished", { summary });
  if (Object.values(summary).some((s) => s.failed > 0)) throw new SyncFailedError(summary);
  return summary;
}

/** Configuration from the function's environment, with the upstream services' real defaults. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): SkillSyncConfig {
  return {
    tables: {
      assessments: requireEnv(SKILLS_ENV.assessmentsTable, env),
      badges: requireEnv(SKILLS_ENV.badgesTable, env),
      assertions: requireEnv(SKILLS_ENV.assertionsTable, env),
    },
    bucket: requireEnv(SKILLS_ENV.templatesBucket, env),
    airtable: {
      apiUrl: env[SKILLS_ENV.airtableApiUrl] || "https://api.airtable.com/v0",
      baseId: requireEnv(SKILLS_ENV.airtableBaseId, env),
      table: env[SKILLS_ENV.airtableTable] || "assessments",
    },
    badgr: { baseUrl: env[SKILLS_ENV.badgrBaseUrl] || "https://api.badgr.io", issuerId: requireEnv(SKILLS_ENV.badgrIssuerId, env) },
    github: { apiUrl: env[SKILLS_ENV.githubApiUrl] || "https://api.github.com", org: requireEnv(SKILLS_ENV.githubOrg, env) },
    secret: (name) =>
      name === "GITHUB_TOKEN" && !env.GITHUB_TOKEN && !env.GITHUB_TOKEN_PARAM ? Promise.resolve(undefined) : readSecret(name, env),
    documents: DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }),
    // Local S3-compatible servers need path-style addressing; real S3 keeps its default.
    s3: new S3Client({ ...S3_CLIENT_DEFAULTS, forcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL) }),
  };
}
