/**
 * One skill sync in a process of its own, for the skills-scale bench: bundled as the function
 * is (scripts/bench/skills-scale.ts builds it), run against the stand-ins the parent started,
 * and reporting on stdout, as one JSON line, its wall and CPU time, its peak RSS and the
 * MySQL statements it sent.
 *
 *   node child.js '{"dbUrl": …, "upstreamUrl": …, "s3Endpoint": …, "bucket": …, "badgrMaxPages": …}'
 */
import * as fs from "node:fs";
import { S3Client } from "@aws-sdk/client-s3";
import type { Pool, PoolConnection } from "mysql2/promise";
import { brnPool, runSync, S3_CLIENT_DEFAULTS, type SkillSyncConfig, SyncFailedError } from "../../handlers/skills/sync";

export interface ChildInput {
  dbUrl: string;
  upstreamUrl: string;
  s3Endpoint: string;
  bucket: string;
  maxPages: number;
}

export interface ChildReport {
  wallMs: number;
  cpuMs: number;
  /** The process's peak RSS (VmHWM), in KB. */
  maxRssKb: number;
  /** When the templates began (the first S3 request), after the tables: ms from the start, and the peak RSS then. */
  tablesDone?: { ms: number; maxRssKb: number };
  /** Statements sent, by their first word (`START TRANSACTION` and `ROLLBACK TO` as such). */
  statements: Record<string, number>;
  rowsWritten: number;
  /** created/updated/unchanged/failed per source. */
  summary: Record<string, [number, number, number, number]>;
  errors: string[];
}

/**
 * The peak RSS of this process, in KB: VmHWM, which starts anew at exec. Not getrusage's
 * maxRSS, which a spawned process inherits from its parent's RSS at the fork.
 */
export function peakRssKb(): number {
  return Number(/^VmHWM:\s*(\d+) kB/m.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1]);
}

/** The statement's kind: its first word, or two where one would not tell. */
const kind = (sql: string) => /^\s*(START TRANSACTION|ROLLBACK TO|\w+)/i.exec(sql)?.[1].toUpperCase() ?? "?";

/** The pool, with every statement its connections send counted (transaction control included). */
function counting(pool: Pool, count: (sql: string) => void): Pool {
  const counted = Object.create(pool) as Pool;
  counted.query = ((sql: string, values?: unknown[]) => (count(sql), pool.query(sql, values))) as Pool["query"];
  counted.getConnection = async () => {
    const connection: PoolConnection = await pool.getConnection();
    const query = connection.query.bind(connection);
    connection.query = ((sql: string, values?: unknown[]) => (count(sql), query(sql, values))) as PoolConnection["query"];
    for (const [method, sql] of [
      ["beginTransaction", "START TRANSACTION"],
      ["commit", "COMMIT"],
      ["rollback", "ROLLBACK"],
    ] as const) {
      const original = connection[method].bind(connection);
      connection[method] = () => (count(sql), original());
    }
    return connection;
  };
  return counted;
}

async function main(input: ChildInput): Promise<ChildReport> {
  const statements: Record<string, number> = {};
  let rowsWritten = 0;
  const pool = brnPool(input.dbUrl);
  const db = counting(pool, (sql) => {
    const k = kind(sql);
    statements[k] = (statements[k] ?? 0) + 1;
    if (k === "INSERT" || k === "UPDATE") rowsWritten += (sql.match(/\),\s*\(/g)?.length ?? 0) + 1;
  });
  const secrets: Record<string, string> = {
    AIRTABLE_TOKEN: "airtable-token",
    BADGR_USERNAME: "u",
    BADGR_PASSWORD: "p",
    BADGR_CLIENT_ID: "c",
  };
  const config: SkillSyncConfig = {
    db: async () => db,
    bucket: input.bucket,
    airtable: { apiUrl: `${input.upstreamUrl}/v0`, baseId: "appBENCH", table: "assessments", maxPages: input.maxPages },
    badgr: {
      baseUrl: `${input.upstreamUrl}/badgr`,
      issuerId: "ISSUER",
      scope: "rw:issuer rw:backpack",
      grantType: "password",
      maxPages: input.maxPages,
    },
    github: { apiUrl: `${input.upstreamUrl}/github`, org: "Bioinformatics-Research-Network" },
    templates: { maxBytes: 100 * 1024 * 1024, maxEntries: 5_000 },
    secret: async (name) => secrets[name],
    s3: new S3Client({
      ...S3_CLIENT_DEFAULTS,
      endpoint: input.s3Endpoint,
      region: "eu-west-2",
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      forcePathStyle: true,
    }),
  };
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  let tablesDone: ChildReport["tablesDone"];
  config.s3.middlewareStack.add(
    (next) => (args) => {
      tablesDone ??= { ms: Number(process.hrtime.bigint() - start) / 1e6, maxRssKb: peakRssKb() };
      return next(args);
    },
    { step: "initialize", name: "benchTablesDone" },
  );
  let summary: Awaited<ReturnType<typeof runSync>>;
  let errors: string[] = [];
  try {
    summary = await runSync(config);
  } catch (err) {
    if (!(err instanceof SyncFailedError)) throw err;
    summary = err.summary;
    errors = Object.values(summary)
      .flatMap((s) => s.errors)
      .slice(0, 5);
  }
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  await pool.end();
  return {
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    maxRssKb: peakRssKb(),
    tablesDone,
    statements,
    rowsWritten,
    summary: Object.fromEntries(Object.entries(summary).map(([k, s]) => [k, [s.created, s.updated, s.unchanged, s.failed]])),
    errors,
  };
}

main(JSON.parse(process.argv[2]) as ChildInput).then(
  (report) => process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0)),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
