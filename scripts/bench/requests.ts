/** Requests per event, counted against local servers (the alma cache's warm cost and throughput: warm.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { ALMA_TABLES, TOMBSTONES_TABLE } from "../../apps/alma/tables";
import type { AlmaCacheClients } from "../../handlers/alma/cache";
import { documentsOf } from "../../handlers/lib/dynamodb";
import { SqsSender } from "../../handlers/lib/sqs-send";
import {
  applyBatch,
  type BatchResult,
  type CacheFunction,
  LOAN_RETURNED,
  LOAN_UPDATED,
  REQUEST_CLOSED,
  REQUEST_UPDATED,
} from "../../handlers/alma/cache-functions";
import { Iota } from "../../handlers/iota/engine";
import { createHandler } from "../../handlers/lessons/handler";
import { brnPool, runSync, S3_CLIENT_DEFAULTS, type SkillSyncConfig } from "../../handlers/skills/sync";
import { startFaultProxy } from "../../tooling/local/fault-proxy";
import { MemoryStore } from "../../tooling/local/iota-memory-store";
import { localClientConfig } from "../../tooling/local/aws";
import { startDynalite } from "../../tooling/local/dynamo";
import { startFakeSqs } from "../../tooling/local/fake-sqs";
import { startStub } from "../../tooling/local/http-stub";
import { createBrnDatabase } from "../../tooling/local/mysql";
import { S3RVER_CREDENTIALS, startS3rver } from "../../tooling/local/s3";
import { commitShaAnswer, zipball } from "../../tooling/local/zip";
import { queuedSnsEvent } from "../events/wrap";
import { contentionRow, simultaneousReturns } from "./contention";
import { PAYLOADS_DIR } from "../../paths";

export async function requestsPerEvent(say: (line?: string) => void): Promise<void> {
  say("## Requests per event (counted against local servers)");
  say();
  say("| scenario | DynamoDB | SQS | SNS | EventBridge | S3 | HTTP |");
  say("|---|---:|---:|---:|---:|---:|---:|");
  const dynamo = await startDynalite();
  const proxy = await startFaultProxy(dynamo.endpoint);
  const sqs = await startFakeSqs();
  try {
    // alma: one message each, as the function's queue hands it out (an SQS record whose body is
    // the SNS notification), with the user absent, present, expired, and a redelivery; then a
    // batch of 10. Only the handler's own requests are counted: the event source mapping's
    // ReceiveMessage and DeleteMessageBatch are Lambda's, one each per batch.
    for (const [name, schema] of Object.entries({ ...ALMA_TABLES, tombstones: TOMBSTONES_TABLE }))
      await dynamo.createTable(`bench-${name}`, schema);
    const clients: AlmaCacheClients = {
      documents: documentsOf(localClientConfig(proxy.url)),
      sqs: new SqsSender(localClientConfig(sqs.url)),
      tables: { users: "bench-users", loans: "bench-loans", requests: "bench-requests", tombstones: "bench-tombstones" },
      usersQueueUrl: sqs.queueUrl("users"),
      now: Date.now,
    };
    // The fixtures date from 2018, older than a tombstone lives: every event here happened an hour ago.
    const time = new Date(Date.now() - 3_600_000).toISOString();
    const message = (fixture: string, loanId?: string) => {
      const m = JSON.parse(JSON.parse(fs.readFileSync(path.join(PAYLOADS_DIR, "alma-webhook", `${fixture}.json`), "utf8")).body);
      m.time = time;
      if (m.user_request) m.user_request.user_primary_id = "LBAAJH";
      if (loanId) m.item_loan.loan_id = loanId;
      return JSON.stringify(m);
    };
    const batch =
      (fn: CacheFunction, ...messages: string[]) =>
      async () =>
        (await applyBatch(fn, clients, queuedSnsEvent(messages))).result;
    const putUser = (expiry: number, lists: Record<string, string[]> = {}) =>
      dynamo.documents.send(
        new PutCommand({
          TableName: "bench-users",
          Item: { primary_id: "lbaajh", loan_ids: [], request_ids: [], fee_ids: [], expiry_date: expiry, ...lists },
        }),
      );
    const count = async (label: string, run: () => Promise<BatchResult>) => {
      const [d, q] = [proxy.requests, sqs.stub.requests.length];
      const result = await run();
      const outcomes = Object.entries(result)
        .filter(([k, v]) => k !== "records" && v > 0)
        .map(([k, v]) => (result.records > 1 ? `${v} ${k}` : k));
      const perEvent = (n: number) => (result.records > 1 ? `${n} (${(n / result.records).toFixed(1)} per event)` : String(n));
      say(`| ${label} → ${outcomes.join(", ")} | ${perEvent(proxy.requests - d)} | ${sqs.stub.requests.length - q} | 0 | 0 | 0 | 0 |`);
    };
    const future = Math.floor(Date.now() / 1000) + 86400;
    await count("alma loan-updated, user absent", batch(LOAN_UPDATED, message("loan_created_event")));
    await putUser(Math.floor(Date.now() / 1000) - 60);
    await count("alma loan-updated, user expired", batch(LOAN_UPDATED, message("loan_created_event")));
    await putUser(future);
    await count("alma loan-updated, user present", batch(LOAN_UPDATED, message("loan_created_event")));
    await count("alma loan-updated, user present, redelivered", batch(LOAN_UPDATED, message("loan_created_event")));
    await count("alma loan-returned, user present", batch(LOAN_RETURNED, message("loan_returned_event")));
    await count("alma loan-updated, older than the return", batch(LOAN_UPDATED, message("loan_renewed_event")));
    await count("alma request-updated, user present", batch(REQUEST_UPDATED, message("request_created_event")));
    await count("alma request-closed, user present", batch(REQUEST_CLOSED, message("request_closed_event")));
    const ten = Array.from({ length: 10 }, (_, i) => message("loan_created_event", `bench-batch-${i}`));
    await count("alma loan-updated, a batch of 10 new loans of one user", batch(LOAN_UPDATED, ...ten));
    await almaContention(say);

    // lesson-completed: token and API calls for 1 and for 10 events in one warm container.
    const api = await startStub((req) => (req.path === "/token" ? { body: { access_token: "t", expires_in: 3600 } } : { status: 200 }));
    const lessonEvent = JSON.parse(fs.readFileSync(path.join(PAYLOADS_DIR, "atlas-trigger", "user_update_event.json"), "utf8"));
    const lesson = createHandler({
      tokenUrl: `${api.url}/token`,
      audience: "a",
      clientId: "c",
      clientSecret: async () => "s",
      endpoint: `${api.url}/lp`,
    });
    await lesson(lessonEvent);
    say(
      `| lesson-completed, 1 event (token ${api.to("POST", "/token").length}, PUT ${api.to("PUT", "/lp").length}) | 0 | 0 | 0 | 0 | 0 | ${api.requests.length} |`,
    );
    for (let i = 0; i < 9; i++) await lesson(lessonEvent);
    say(
      `| lesson-completed, 10 events in a warm container (token ${api.to("POST", "/token").length}, PUT ${api.to("PUT", "/lp").length}) | 0 | 0 | 0 | 0 | 0 | ${api.requests.length} |`,
    );
    await api.close();

    // skill-sync against a BRN database on the MySQL server at MYSQL_URL: a first sync, then a re-sync with no upstream change.
    const s3 = await startS3rver(["bench-templates"]);
    const release = await zipball({ "README.md": "# template", "src/main.py": "print(1)", "tests/test_main.py": "def test(): pass" });
    const upstream = await startStub((req) => {
      if (req.path.startsWith("/v0/")) {
        const records = Array.from({ length: 30 }, (_, i) => ({
          id: `rec${i}`,
          fields: {
            id: i + 1,
            name: `A${i}`,
            languages: ["Python", "R"],
            ...(i < 3 ? { template_repo: `t${i}`, latest_release: "v1" } : {}),
          },
        }));
        return { body: { records } };
      }
      if (req.path === "/badgr/o/token/") return { body: { access_token: "b" } };
      if (req.path.endsWith("/badgeclasses"))
        return { body: { result: Array.from({ length: 10 }, (_, i) => ({ entityId: `B${i}`, name: `Badge ${i}`, tags: ["x"] })) } };
      if (req.path.endsWith("/assertions")) {
        const result = Array.from({ length: 100 }, (_, i) => ({
          entityId: `A${i}`,
          badgeclass: `B${i % 10}`,
          openBadgeId: `https://example.org/a/${i}`,
          createdAt: "2024-01-01T00:00:00Z",
          recipient: { identity: "x", type: "email", plaintextIdentity: "x@example.org" },
        }));
        return { body: { result } };
      }
      if (req.path.includes("/zipball/")) return { headers: { "content-type": "application/zip" }, body: release };
      if (req.path.includes("/commits/")) return commitShaAnswer(release, req.headers["if-none-match"]);
      return { status: 404 };
    });
    const brn = await createBrnDatabase("tributary_bench");
    const pool = brnPool(brn.url);
    let rows = 0;
    const counting = Object.create(pool) as typeof pool;
    counting.getConnection = async () => {
      const connection = await pool.getConnection();
      const query = connection.query.bind(connection);
      connection.query = ((sql: string, values?: unknown[]) => {
        if (/^(INSERT|UPDATE) /.test(sql)) rows += (sql.match(/\),\s*\(/g)?.length ?? 0) + 1;
        return query(sql, values);
      }) as typeof connection.query;
      return connection;
    };
    const s3Client = new S3Client({
      ...S3_CLIENT_DEFAULTS,
      endpoint: s3.endpoint,
      region: "eu-west-2",
      credentials: S3RVER_CREDENTIALS,
      forcePathStyle: true,
    });
    const s3Calls: string[] = [];
    s3Client.middlewareStack.add(
      (next, context) => (args) => (s3Calls.push(String(context.commandName).replace(/Command$/, "")), next(args)),
      { step: "initialize", name: "count" },
    );
    const skills: SkillSyncConfig = {
      db: async () => counting,
      bucket: "bench-templates",
      airtable: { apiUrl: `${upstream.url}/v0`, baseId: "appB", table: "assessments", maxPages: 10 },
      badgr: { baseUrl: `${upstream.url}/badgr`, issuerId: "I", scope: "rw:issuer rw:backpack", grantType: "password", maxPages: 10 },
      github: { apiUrl: `${upstream.url}/github`, org: "o" },
      templates: { maxBytes: 1024 * 1024, maxEntries: 100 },
      secret: async (name: string) => (name === "GITHUB_TOKEN" ? undefined : "x"),
      s3: s3Client,
    };
    for (const label of ["first sync", "re-sync, no upstream change"]) {
      const [r0, h0] = [rows, upstream.requests.length];
      s3Calls.length = 0;
      const start = process.hrtime.bigint();
      await runSync(skills);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const byCommand = [...new Set(s3Calls)].map((c) => `${s3Calls.filter((x) => x === c).length} ${c}`).join(", ");
      const github = upstream.requests.slice(h0).filter((r) => r.path.startsWith("/github/")).length;
      say(
        `| skill-sync ${label} (30 assessments, 3 templates, 10 badges, 100 assertions): ${rows - r0} rows written, ${ms.toFixed(0)} ms against MariaDB | 0 | 0 | 0 | 0 | ${s3Calls.length} (${byCommand}) | ${upstream.requests.length - h0} (GitHub ${github}) |`,
      );
    }
    await pool.end();
    await brn.drop();
    await upstream.close();
    await s3.close();

    // iota: N mutations and M events (the journal's store operations are counted in the DynamoDB column's place).
    for (const [n, m] of [
      [2, 1],
      [5, 25],
    ]) {
      const store = new MemoryStore();
      let putEvents = 0;
      const engine = new Iota({
        serviceId: "s",
        eventBusName: "b",
        store,
        putEvents: async (entries) => (putEvents++, { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) }),
      });
      await engine.withIota(
        { id: `e-${n}-${m}`, source: "bench", type: "t" },
        {},
        {
          func: ({ mutation, rapids }) => {
            for (let i = 0; i < n; i++) mutation.stage({ action: "create", table: "records" });
            for (let i = 0; i < m; i++) rapids.stage({ type: "fct.bench.v0", data: { i } });
          },
        },
      );
      say(
        `| iota, ${n} mutations and ${m} events (MongoDB: 1 insert + 1 transaction + ${putEvents} outbox updates) | – | 0 | 0 | ${putEvents} | 0 | 0 |`,
      );
    }
  } finally {
    await Promise.all([proxy.close(), dynamo.close(), sqs.close()]);
  }
  say();
}

/**
 * alma: N returns of one user's loans at once (1, 30, 100), as the event source mapping hands
 * them out and as N single-record invocations, each against fresh tables. Every removal must
 * converge: each row must read 0 failed invocations and 0 dangling ids.
 */
export async function almaContention(say: (line?: string) => void): Promise<void> {
  const dynamo = await startDynalite();
  const sqs = await startFakeSqs();
  try {
    for (const returns of [1, 30, 100]) {
      for (const mode of ["batches", "singles"] as const) {
        if (returns === 1 && mode === "singles") continue;
        say(contentionRow(await simultaneousReturns(dynamo, sqs, returns, mode)));
      }
    }
  } finally {
    await Promise.all([dynamo.close(), sqs.close()]);
  }
}
