import * as assert from "node:assert/strict";
import { DeleteObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createConnection, type Pool, type PoolConnection } from "mysql2/promise";
import { TimeBudget } from "../../handlers/lib/budget";
import { lambdaHandler } from "../../handlers/lib/logger";
import { brnPool, runSync, S3_CLIENT_DEFAULTS, type SkillSyncConfig, SyncFailedError, type SyncSummary } from "../../handlers/skills/sync";
import { FAST_RETRY, type HttpStub, type StubResponse, startStub } from "../../tooling/local/http-stub";
import { type BrnDatabase, createBrnDatabase } from "../../tooling/local/mysql";
import { type LocalS3, S3RVER_CREDENTIALS, startS3rver } from "../../tooling/local/s3";
import { captureLogs } from "../helpers/logs";
import { commitShaAnswer, corruptData, patchDeclaredSize, patchName, zipball, zipballCommit } from "../../tooling/local/zip";

interface Upstream {
  /** Answers Airtable's first request with this instead, once. */
  airtableOnce?: StubResponse;
  /** Delays the archive downloads. */
  archiveDelayMs?: number;
  assessments: Record<string, unknown>[][];
  /** Airtable's `offset` for each page; the default is the next page's number. */
  offsets?: (string | undefined)[];
  badges: Record<string, unknown>[];
  assertions: Record<string, unknown>[];
  /** A `Link: rel="next"` Badgr keeps sending for assertions. */
  assertionsNext?: string;
  /** Assertions in pages (`?page=N`, linked with `rel="next"`), instead of `assertions` in one. */
  assertionPages?: Record<string, unknown>[][];
  /** Answers the assertions' page N with this instead (every time). */
  assertionPageFault?: { page: number; answer: StubResponse };
  releases: Record<string, Buffer>;
  /** The archive whose commit GitHub names for a tag, when it is not the one the zipball gives (a tag that moves between the two requests). */
  tagged?: Record<string, Buffer>;
  badgrDown: boolean;
  /** Badgr's token endpoint answers with this status and what it was sent (the password among it), and an e-mail address. */
  badgrTokenEcho?: number;
}

const OB = "https://api.badgr.io/public/assertions/A1";

describe("skill-sync handler (BRN MySQL database on a real server, s3rver)", function () {
  this.timeout(60_000);
  let db: BrnDatabase;
  let s3: LocalS3;
  let server: HttpStub;
  let upstream: Upstream;
  let config: SkillSyncConfig;
  let pool: Pool;
  /** Every INSERT and UPDATE the sync sent, with its row count. */
  let inserts: { table: string; rows: number }[];
  /** S3 writes. */
  let puts: string[];
  /** Every S3 request, by command and key or prefix. */
  let s3Requests: string[];
  /** Runs before each statement the sync sends (a test kills the connection here). */
  let beforeQuery: ((sql: string, connection: PoolConnection) => Promise<void>) | undefined;

  before(async () => {
    db = await createBrnDatabase("tributary_sync_test");
    s3 = await startS3rver(["templates"]);
    server = await startStub(async (req): Promise<StubResponse> => {
      if (req.path === "/v0/appTESTBASE0000001/assessments") {
        if (req.headers.authorization !== "Bearer airtable-token") return { status: 401 };
        const once = upstream.airtableOnce;
        upstream.airtableOnce = undefined;
        if (once) return once;
        const page = Number(req.query.get("offset") ?? "0");
        const next = upstream.offsets ? upstream.offsets[page] : page + 1 < upstream.assessments.length ? String(page + 1) : undefined;
        return { body: { records: upstream.assessments[page] ?? [], ...(next !== undefined ? { offset: next } : {}) } };
      }
      if (req.path.startsWith("/badgr/")) {
        if (upstream.badgrDown) return { status: 503, body: "maintenance" };
        if (req.path === "/badgr/o/token/") {
          if (upstream.badgrTokenEcho)
            return {
              status: upstream.badgrTokenEcho,
              body: { error: "invalid_grant", request: req.body, contact: "badgr.admin@example.org" },
            };
          const form = new URLSearchParams(req.body);
          const ok =
            form.get("grant_type") === "password" &&
            form.get("scope") === "rw:issuer rw:backpack" &&
            form.get("username") === "badgr-user" &&
            form.get("password") === "badgr-pass" &&
            form.get("client_id") === "public";
          return ok
            ? { body: { access_token: "badgr-token", token_type: "Bearer", expires_in: 86400 } }
            : { status: 400, body: { error: "invalid_grant" } };
        }
        if (req.headers.authorization !== "Bearer badgr-token") return { status: 401 };
        if (req.path === "/badgr/v2/issuers/ISSUER1/badgeclasses") return { body: { status: { success: true }, result: upstream.badges } };
        if (req.path === "/badgr/v2/issuers/ISSUER1/assertions" && upstream.assertionPages) {
          const page = Number(req.query.get("page") ?? 0);
          if (upstream.assertionPageFault?.page === page) return upstream.assertionPageFault.answer;
          const next: Record<string, string> =
            page + 1 < upstream.assertionPages.length ? { link: `<${server.url}${req.path}?page=${page + 1}>; rel="next"` } : {};
          return { headers: next, body: { status: { success: true }, result: upstream.assertionPages[page] } };
        }
        if (req.path === "/badgr/v2/issuers/ISSUER1/assertions") {
          return {
            headers: upstream.assertionsNext ? { link: `<${upstream.assertionsNext}>; rel="next"` } : {},
            body: { status: { success: true }, result: upstream.assertions },
          };
        }
      }
      // As GitHub: its API refuses a request without a User-Agent.
      if (req.path.startsWith("/github/") && !req.headers["user-agent"])
        return { status: 403, body: "Request forbidden by administrative rules. Please make sure your request has a User-Agent header" };
      const commit = /^\/github\/repos\/brn\/([^/]+)\/commits\/([^/]+)$/.exec(req.path);
      if (commit)
        return req.headers.accept === "application/vnd.github.sha"
          ? commitShaAnswer((upstream.tagged ?? upstream.releases)[`${commit[1]}@${commit[2]}`], req.headers["if-none-match"])
          : { status: 415 };
      const zip = /^\/github\/repos\/brn\/([^/]+)\/zipball\/([^/]+)$/.exec(req.path);
      if (zip) return { status: 302, headers: { location: `${server.url}/codeload/${zip[1]}/${zip[2]}` } };
      const codeload = /^\/codeload\/([^/]+)\/([^/]+)$/.exec(req.path);
      if (codeload) {
        const archive = upstream.releases[`${codeload[1]}@${codeload[2]}`];
        return archive
          ? { headers: { "content-type": "application/zip" }, body: archive, delayMs: upstream.archiveDelayMs }
          : { status: 404 };
      }
      return { status: 404 };
    });
    pool = brnPool(db.url);
  });
  after(async () => {
    await pool.end();
    await server.close();
    await s3.close();
    await db.drop();
  });

  beforeEach(async () => {
    for (const table of ["assertions", "badges", "assessment_tracker", "assessments"]) await db.query(`DELETE FROM \`${table}\``);
    for (const key of (await s3.objects("templates")).keys())
      await s3.client.send(new DeleteObjectCommand({ Bucket: "templates", Key: key }));
    upstream = {
      assessments: [
        [
          {
            id: "rec1",
            fields: {
              id: 1,
              name: "Python basics",
              core_skill_areas: ["git", "GitHub"],
              languages: ["Python"],
              review_required: true,
              install_id: 27458935,
              template_repo: "python-template",
              latest_release: "v1.0",
            },
          },
          { id: "rec2", fields: { id: 2, name: "R basics", score: 7 } },
        ],
        [
          { id: "rec3", fields: { id: "3", name: "Git", types: ["project"] } },
          { id: "rec4", fields: { name: "no id: malformed" } },
        ],
      ],
      badges: [
        {
          entityType: "BadgeClass",
          entityId: "B1",
          openBadgeId: "https://api.badgr.io/public/badges/B1",
          createdAt: "2022-05-04T18:28:32Z",
          createdBy: "U1",
          issuer: "ISSUER1",
          issuerOpenBadgeId: "https://api.badgr.io/public/issuers/ISSUER1",
          name: "Python Pro",
          image: "https://badgr.example/b1.png",
          description: "Passes the Python assessment",
          achievementType: null,
          criteriaUrl: null,
          criteriaNarrative: "pass",
          alignments: [],
          tags: ["R", "programming"],
          expires: { amount: 2, duration: "years" },
          extensions: {},
        },
        { entityId: "B2", name: "Git Guru", image: "https://badgr.example/b2.png", tags: [], createdAt: "2022-05-05T10:00:00Z" },
      ],
      assertions: [
        {
          entityType: "Assertion",
          entityId: "A1",
          openBadgeId: OB,
          createdAt: "2022-06-09T18:28:32Z",
          createdBy: "U1",
          badgeclass: "B1",
          image: "https://badgr.example/a1.png",
          issuedOn: "2022-06-09T18:28:31Z",
          recipient: { identity: "sha256$abc", type: "email", hashed: true, plaintextIdentity: "learner@example.org", salt: "s4lt" },
          narrative: null,
          evidence: [{ url: "https://github.com/learner/pr/1", narrative: "first" }, { url: "https://ignored" }],
          revoked: false,
          revocationReason: null,
          acceptance: "Accepted",
          expires: "2024-06-09T18:28:32Z",
        },
      ],
      releases: {
        "python-template@v1.0": await zipball({
          "README.md": "# v1",
          "src/main.py": "print('v1')",
          ".github/workflows/checks.yml": "on: push",
        }),
        "python-template@v1.1": await zipball({ "README.md": "# v1.1", "src/main.py": "print('v1.1')" }),
      },
      badgrDown: false,
    };
    inserts = [];
    puts = [];
    s3Requests = [];
    beforeQuery = undefined;
    // The sync's pool, with every INSERT it sends counted.
    const counted = Object.create(pool) as Pool;
    counted.getConnection = async () => {
      const connection = await pool.getConnection();
      const query = connection.query.bind(connection);
      connection.query = (async (sql: string, values?: unknown[]) => {
        await beforeQuery?.(sql, connection);
        const insert = /^(?:INSERT INTO|UPDATE) `(\w+)`/.exec(sql);
        if (insert) inserts.push({ table: insert[1], rows: (sql.match(/\),\s*\(/g)?.length ?? 0) + 1 });
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
    s3Client.middlewareStack.add(
      (next, context) => (args) => {
        const input = args.input as { Key?: string; Prefix?: string };
        if (context.commandName === "PutObjectCommand") puts.push(input.Key!);
        s3Requests.push(`${String(context.commandName).replace(/Command$/, "")} ${input.Key ?? input.Prefix}`);
        return next(args);
      },
      { step: "initialize", name: "countPuts" },
    );
    server.requests.length = 0;
    const secrets: Record<string, string> = {
      AIRTABLE_TOKEN: "airtable-token",
      BADGR_USERNAME: "badgr-user",
      BADGR_PASSWORD: "badgr-pass",
      BADGR_CLIENT_ID: "public",
    };
    config = {
      db: async () => counted,
      bucket: "templates",
      airtable: { apiUrl: `${server.url}/v0`, baseId: "appTESTBASE0000001", table: "assessments", maxPages: 100 },
      badgr: { baseUrl: `${server.url}/badgr`, issuerId: "ISSUER1", scope: "rw:issuer rw:backpack", grantType: "password", maxPages: 100 },
      github: { apiUrl: `${server.url}/github`, org: "brn" },
      templates: { maxBytes: 1024 * 1024, maxEntries: 100 },
      secret: async (name) => secrets[name],
      s3: s3Client,
      retry: FAST_RETRY,
    };
  });

  async function syncExpectingFailure(budget?: TimeBudget): Promise<SyncSummary> {
    try {
      await runSync(config, budget);
    } catch (err) {
      assert.ok(err instanceof SyncFailedError, String(err));
      return err.summary;
    }
    assert.fail("the sync should have failed");
  }
  const withoutMalformed = () => upstream.assessments[1].pop();
  const rowsWritten = () => inserts.reduce((n, i) => n + i.rows, 0);

  describe("the BRN tables", () => {
    it("writes the assessments as the original did: integer ids, lists joined with commas, the Airtable fields only", async () => {
      const summary = await syncExpectingFailure();
      assert.deepEqual(summary.assessments, {
        created: 3,
        updated: 0,
        unchanged: 0,
        failed: 1,
        errors: ["record rec4: fields.id must be an integer (got nothing)"],
        skipped: [],
        truncated: [],
      });
      assert.equal(server.to("GET", "/v0/appTESTBASE0000001/assessments").length, 2, "both Airtable pages were read");
      const rows = await db.query<Record<string, unknown>>("SELECT * FROM assessments ORDER BY id");
      assert.deepEqual(
        rows.map((r) => [
          r.id,
          r.name,
          r.core_skill_areas,
          r.languages,
          r.types,
          r.review_required,
          r.install_id,
          r.template_repo,
          r.latest_release,
        ]),
        [
          [1, "Python basics", "git,GitHub", "Python", null, 1, "27458935", "python-template", "v1.0"],
          [2, "R basics", null, null, null, 0, null, null, null],
          [3, "Git", null, null, "project", 0, null, null, null],
        ],
      );
    });

    it("writes badges with Badgr's keys as columns, nested values as the original's Python text, dates as DATETIME", async () => {
      await syncExpectingFailure();
      const [badge] = await db.query<Record<string, unknown>>(
        "SELECT *, DATE_FORMAT(createdAt, '%Y-%m-%d %H:%i:%s') AS created FROM badges WHERE entityId = 'B1'",
      );
      assert.equal(badge.created, "2022-05-04 18:28:32");
      assert.equal(badge.alignments, "[]");
      assert.equal(badge.tags, "['R', 'programming']");
      assert.equal(badge.expires, "{'amount': 2, 'duration': 'years'}");
      assert.equal(badge.extensions, "{}");
      assert.equal(badge.achievementType, null);
      assert.deepEqual(
        [badge.issuer, badge.issuerOpenBadgeId, badge.criteriaNarrative],
        ["ISSUER1", "https://api.badgr.io/public/issuers/ISSUER1", "pass"],
      );
    });

    it("writes every assertion column, with the share links and embed HTML the original builds", async () => {
      await syncExpectingFailure();
      const [a] = await db.query<Record<string, unknown>>(
        "SELECT *, DATE_FORMAT(createdAt, '%Y-%m-%d %H:%i:%s') AS c, DATE_FORMAT(issuedOn, '%Y-%m-%d %H:%i:%s') AS i, DATE_FORMAT(expires, '%Y-%m-%d %H:%i:%s') AS e FROM assertions",
      );
      assert.deepEqual(
        [
          a.entityId,
          a.entityType,
          a.openBadgeId,
          a.c,
          a.createdBy,
          a.badgeclass,
          a.i,
          a.e,
          a.acceptance,
          a.revoked,
          a.revocationReason,
          a.narrative,
        ],
        ["A1", "Assertion", OB, "2022-06-09 18:28:32", "U1", "B1", "2022-06-09 18:28:31", "2024-06-09 18:28:32", "Accepted", 0, null, null],
      );
      assert.deepEqual(
        [
          a.recipient_identity,
          a.recipient_hashed,
          a.recipient_type,
          a.recipient_plaintextIdentity,
          a.recipient_salt,
          a.evidence_url,
          a.evidence_narrative,
        ],
        ["sha256$abc", 1, "email", "learner@example.org", "s4lt", "https://github.com/learner/pr/1", "first"],
      );
      assert.equal(a.share_url, `${OB}?identity__email=learner@example.org`);
      assert.equal(
        a.linkedin_add_profile_url,
        `https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name=Python Pro&organizationName=Bioinformatics Research Network&issueYear=2022&issueMonth=6&certUrl=${OB}&certId=A1&expirationYear=2024&expirationMonth=6`,
      );
      assert.equal(
        a.twitter_share_url,
        `https://twitter.com/intent/tweet?text=I%20earned%20the%20%22Python%20Pro%22%20badge%20from%20@BRN_science!%0A%0A${OB}`,
      );
      assert.equal(a.facebook_share_url, `https://www.facebook.com/sharer/sharer.php?u=${OB}`);
      assert.equal(a.linkedin_share_url, `https://www.linkedin.com/sharing/share-offsite/?url=${OB}`);
      assert.equal(
        a.embed_card_html,
        `<iframe src="${OB}?embedVersion=1&amp;embedWidth=330&amp;embedHeight=191&amp;identity__email=learner@example.org" title="Badge: Python Pro" style="width: 330px; height: 191px; border: 0px;"></iframe>`,
      );
      assert.match(
        String(a.embed_badge_html),
        /^<blockquote class="badgr-badge" style="font-family: Helvetica, Roboto, &quot;Segoe UI&quot;, Calibri, sans-serif;"><a href="https:\/\/api\.badgr\.io\/public\/assertions\/A1"><img width="120px" height="120px" src="https:\/\/badgr\.example\/a1\.png"><\/a>/,
      );
      assert.match(String(a.embed_badge_html), /<strong[^>]*>Awarded: <\/strong>June 09, 2022<\/p>/);
      assert.match(String(a.embed_badge_html), /href="https:\/\/badgecheck\.io\?url=https:\/\/api\.badgr\.io\/public\/assertions\/A1"/);
      assert.match(
        String(a.embed_badge_html),
        /<script async="async" src="https:\/\/badgr\.com\/assets\/widgets\.bundle\.js"><\/script><\/blockquote>$/,
      );
      assert.equal(a.assessment_tracker_id, null);
    });

    it("asks Badgr for its token with the scope and grant type from config", async () => {
      await syncExpectingFailure();
      const form = new URLSearchParams(server.to("POST", "/badgr/o/token/")[0].body);
      assert.deepEqual(Object.fromEntries(form), {
        username: "badgr-user",
        password: "badgr-pass",
        scope: "rw:issuer rw:backpack",
        grant_type: "password",
        client_id: "public",
      });
    });

    it("writes 0 rows and puts nothing on a re-sync with no upstream change", async () => {
      withoutMalformed();
      await runSync(config);
      inserts.length = 0;
      puts.length = 0;
      const summary = await runSync(config);
      assert.equal(rowsWritten(), 0);
      assert.deepEqual(puts, []);
      assert.deepEqual(Object.fromEntries(Object.entries(summary).map(([k, s]) => [k, s.unchanged])), {
        assessments: 3,
        badges: 2,
        assertions: 1,
        templates: 1,
      });
    });

    it("leaves the column the crud service owns (assessment_tracker_id) as it is", async () => {
      withoutMalformed();
      await runSync(config);
      await db.query("INSERT INTO assessment_tracker (id, assessment_id, latest_commit, log) VALUES (7, 1, 'abc', '[]')");
      await db.query("UPDATE assertions SET assessment_tracker_id = 7 WHERE entityId = 'A1'");
      upstream.assertions[0].acceptance = "Rejected";
      const summary = await runSync(config);
      assert.equal(summary.assertions.updated, 1);
      const [a] = await db.query<Record<string, unknown>>("SELECT acceptance, assessment_tracker_id FROM assertions");
      assert.deepEqual([a.acceptance, a.assessment_tracker_id], ["Rejected", 7]);
    });

    it("rewrites a renamed badge and the assertions whose share links name it, and nothing else", async () => {
      withoutMalformed();
      await runSync(config);
      upstream.badges[0] = { ...upstream.badges[0], name: "Python Master" };
      inserts.length = 0;
      const summary = await runSync(config);
      assert.deepEqual([summary.badges.updated, summary.badges.unchanged, summary.assertions.updated], [1, 1, 1]);
      assert.deepEqual(inserts, [
        { table: "badges", rows: 1 },
        { table: "assertions", rows: 1 },
      ]);
      const [a] = await db.query<{ linkedin_share_url: string; linkedin_add_profile_url: string }>("SELECT * FROM assertions");
      assert.match(a.linkedin_add_profile_url, /name=Python Master&/);
    });

    it("writes in batches of 100, in one transaction", async () => {
      upstream.assessments = [Array.from({ length: 250 }, (_, i) => ({ id: `rec${i}`, fields: { id: i + 1, name: `A${i}` } }))];
      const summary = await runSync(config);
      assert.equal(summary.assessments.created, 250);
      assert.deepEqual(
        inserts.filter((i) => i.table === "assessments").map((i) => i.rows),
        [100, 100, 50],
      );
      assert.equal((await db.query("SELECT id FROM assessments")).length, 250);
    });

    it("fails a row MySQL refuses, reports it, and writes the rest of its batch", async () => {
      upstream.assessments = [
        [
          { id: "rec1", fields: { id: 1, name: "Same name" } },
          { id: "rec2", fields: { id: 2, name: "Same name" } },
          { id: "rec3", fields: { id: 3, name: "x".repeat(300) } },
          { id: "rec4", fields: { id: 4, name: "Fine" } },
        ],
      ];
      const summary = await syncExpectingFailure();
      assert.equal(summary.assessments.created, 3);
      assert.equal(summary.assessments.failed, 1);
      assert.deepEqual(summary.assessments.errors, ["assessments 2: Duplicate entry 'Same name' for key 'name'"]);
      assert.deepEqual(
        (await db.query<{ id: number }>("SELECT id FROM assessments ORDER BY id")).map((r) => r.id),
        [1, 3, 4],
      );
    });

    describe("page by page: what memory holds does not grow with the tables", () => {
      /** 250 assertions of badge B1 in pages of 100, as Badgr pages them. */
      const pagedAssertions = () => {
        const all = Array.from({ length: 250 }, (_, i) => ({
          ...upstream.assertions[0],
          entityId: `P${String(i).padStart(3, "0")}`,
          openBadgeId: `${OB}-${i}`,
        }));
        upstream.assertionPages = [all.slice(0, 100), all.slice(100, 200), all.slice(200)];
      };
      const assertionPagesAsked = () => server.to("GET", "/badgr/v2/issuers/ISSUER1/assertions").length;

      it("writes each page's rows before it asks for the next page", async () => {
        withoutMalformed();
        pagedAssertions();
        const asked: number[] = [];
        beforeQuery = async (sql) => {
          if (sql.startsWith("INSERT INTO `assertions`")) asked.push(assertionPagesAsked());
        };
        const summary = await runSync(config);
        assert.equal(summary.assertions.created, 250);
        assert.deepEqual(asked, [1, 2, 3], "the INSERT of each page was sent while only the pages up to it had been asked for");
        assert.deepEqual(
          inserts.filter((i) => i.table === "assertions").map((i) => i.rows),
          [100, 100, 50],
        );
      });

      it("reads what the table holds one chunk of keys at a time, and writes 0 rows on a re-sync", async () => {
        withoutMalformed();
        pagedAssertions();
        await runSync(config);
        const selects: string[] = [];
        beforeQuery = async (sql) => {
          if (sql.startsWith("SELECT")) selects.push(sql);
        };
        inserts.length = 0;
        const summary = await runSync(config);
        assert.equal(rowsWritten(), 0);
        assert.equal(summary.assertions.unchanged, 250);
        const onAssertions = selects.filter((sql) => / FROM `assertions` WHERE `entityId` IN \(/.test(sql));
        assert.equal(onAssertions.length, 3, "one SELECT per chunk of 100");
        assert.ok(onAssertions.every((sql) => (sql.match(/'P\d{3}'/g) ?? []).length <= 100));
        assert.equal(selects.filter((sql) => !/ WHERE `(entityId|id)` IN \(/.test(sql)).length, 0, "no SELECT reads a whole table");
      });

      it("notices a stored row that differs in any kind of column, and writes back only those rows", async () => {
        withoutMalformed();
        pagedAssertions();
        await runSync(config);
        const changes = [
          "UPDATE assertions SET narrative = 'edited' WHERE entityId = 'P001'", // NULL → text
          "UPDATE assertions SET acceptance = NULL WHERE entityId = 'P002'", // text → NULL
          "UPDATE assertions SET createdAt = '2022-06-09 18:28:33' WHERE entityId = 'P003'", // DATETIME
          "UPDATE assertions SET revoked = 1 WHERE entityId = 'P004'", // BOOL
          "UPDATE assertions SET recipient_salt = 's4lT' WHERE entityId = 'P005'", // case only
          "UPDATE assertions SET embed_badge_html = CONCAT(embed_badge_html, ' ') WHERE entityId = 'P006'", // a trailing space in TEXT
          "UPDATE assessments SET review_required = 0 WHERE id = 1", // BOOL
          "UPDATE badges SET tags = '[''R'']' WHERE entityId = 'B1'",
        ];
        for (const sql of changes) await db.query(sql);
        inserts.length = 0;
        const summary = await runSync(config);
        assert.deepEqual(
          [summary.assertions.updated, summary.assertions.unchanged, summary.assessments.updated, summary.badges.updated],
          [6, 244, 1, 1],
        );
        assert.equal(rowsWritten(), 8);
        const rows = await db.query<Record<string, unknown>>(
          "SELECT entityId, narrative, acceptance, revoked, recipient_salt FROM assertions WHERE entityId IN ('P001', 'P002', 'P004', 'P005') ORDER BY entityId",
        );
        assert.deepEqual(
          rows.map((r) => [r.narrative, r.acceptance, r.revoked, r.recipient_salt]),
          Array(4).fill([null, "Accepted", 0, "s4lt"]),
        );
      });

      it("commits none of a table's rows when its listing fails on a later page, and converges on the next run", async () => {
        withoutMalformed();
        pagedAssertions();
        upstream.assertionPageFault = { page: 2, answer: { status: 500, body: "down" } };
        const summary = await syncExpectingFailure();
        assert.match(summary.assertions.errors[0], /HTTP 500/);
        assert.equal(summary.assertions.failed, 1);
        assert.deepEqual([summary.badges.created, summary.assessments.created], [2, 3], "the other tables are committed");
        assert.equal((await db.query("SELECT entityId FROM assertions")).length, 0, "pages 1 and 2 were written but not committed");
        upstream.assertionPageFault = undefined;
        assert.equal((await runSync(config)).assertions.created, 250);
      });
    });

    it("keeps syncing Airtable while Badgr is down, and throws with the summary", async () => {
      upstream.badgrDown = true;
      const summary = await syncExpectingFailure();
      assert.equal(summary.assessments.created, 3);
      assert.equal(summary.templates.created, 1);
      assert.equal(summary.badges.failed, 1);
      assert.match(summary.badges.errors[0], /HTTP 503/);
      assert.equal(summary.assertions.failed, 1);
      assert.equal((await db.query("SELECT * FROM badges")).length, 0);
      assert.equal(server.to("POST", "/badgr/o/token/").length, FAST_RETRY.retries + 1, "the token request was retried within bounds");
    });
  });

  describe("a Badgr token endpoint that echoes its request", () => {
    for (const status of [400, 503]) {
      it(`keeps the password and the e-mail address out of the summary, the log and the thrown error (HTTP ${status})`, async () => {
        upstream.badgrTokenEcho = status;
        const handler = lambdaHandler(() => runSync(config));
        const { result, logs } = await captureLogs("DEBUG", () =>
          handler({}).then(
            () => assert.fail("the sync should fail"),
            (err: Error) => err,
          ),
        );
        assert.ok(result instanceof SyncFailedError);
        assert.equal(result.summary.badges.errors[0], `POST ${server.url}/badgr/o/token/ answered HTTP ${status}: invalid_grant`);
        const printed = [JSON.stringify(logs), JSON.stringify(result.summary), result.message, String(result.stack)];
        for (const text of printed) {
          assert.ok(!text.includes("badgr-pass"), `the password in ${text}`);
          assert.ok(!text.includes("badgr.admin@example.org"), `the address in ${text}`);
        }
        assert.ok(JSON.stringify(logs).includes("skill sync finished"));
      });
    }
  });

  describe("values longer than their column: stored cut to fit, as the original's were on RDS (sql_mode NO_ENGINE_SUBSTITUTION), and reported", () => {
    const name = "N".repeat(240) + "🧬".repeat(20);
    const description = "e\u0301".repeat(130);
    const longDescription = "€".repeat(21_846);
    const firstCodePoints = (text: string, n: number) => Array.from(text).slice(0, n).join("");

    it("runs against a server in strict mode, which refuses such a value itself", async () => {
      const [{ mode }] = await db.query<{ mode: string }>("SELECT @@SESSION.sql_mode AS mode");
      assert.match(mode, /STRICT_TRANS_TABLES/);
      await assert.rejects(
        db.query("INSERT INTO assessments (id, name) VALUES (99, ?)", ["x".repeat(251)]),
        /Data too long for column 'name'/,
      );
    });

    it("stores the first 250 code points of a VARCHAR(250) value and the whole characters that fit 65,535 bytes of a TEXT one", async () => {
      withoutMalformed();
      Object.assign(upstream.assessments[0][1].fields as Record<string, unknown>, { name, description, long_description: longDescription });
      const summary = await runSync(config);
      assert.equal(summary.assessments.failed, 0);
      assert.deepEqual(summary.assessments.truncated, [
        { table: "assessments", key: "2", column: "name", length: 260, limit: 250, unit: "characters" },
        { table: "assessments", key: "2", column: "description", length: 260, limit: 250, unit: "characters" },
        { table: "assessments", key: "2", column: "long_description", length: 65_538, limit: 65_535, unit: "bytes" },
      ]);
      const [row] = await db.query<Record<string, string>>("SELECT name, description, long_description FROM assessments WHERE id = 2");
      // An emoji is one code point (two UTF-16 units), and is never split.
      assert.equal(row.name, "N".repeat(240) + "🧬".repeat(10));
      assert.equal(row.name, firstCodePoints(name, 250));
      // A combining accent counts as a code point of its own, as utf8mb4 counts it.
      assert.equal(row.description, "e\u0301".repeat(125));
      assert.equal(row.long_description, "€".repeat(21_845));
      assert.equal(Buffer.byteLength(row.long_description), 65_535);
    });

    it("writes nothing on the next run, and reports the values again while upstream keeps them", async () => {
      withoutMalformed();
      Object.assign(upstream.assessments[0][1].fields as Record<string, unknown>, { name });
      await runSync(config);
      inserts.length = 0;
      const summary = await runSync(config);
      assert.equal(rowsWritten(), 0);
      assert.equal(summary.assessments.unchanged, 3);
      assert.deepEqual(
        summary.assessments.truncated.map((t) => [t.key, t.column, t.length]),
        [["2", "name", 260]],
      );
    });

    it("counts characters as utf8mb4 does: 248 letters and 2 emoji are 250, and fit", async () => {
      withoutMalformed();
      const fits = `${"a".repeat(248)}🧬🔬`;
      assert.equal(fits.length, 252, "JavaScript counts UTF-16 units");
      (upstream.assessments[0][1].fields as Record<string, unknown>).name = fits;
      const summary = await runSync(config);
      assert.deepEqual(summary.assessments.truncated, []);
      assert.equal((await db.query<{ name: string }>("SELECT name FROM assessments WHERE id = 2"))[0].name, fits);
    });

    it("refuses a key longer than its column rather than cut it onto another record's", async () => {
      withoutMalformed();
      upstream.badges.push({ entityId: "B".repeat(251), name: "Long key" });
      const summary = await syncExpectingFailure();
      assert.deepEqual(summary.badges.errors, [`badges ${"B".repeat(251)}: entityId is 251 characters; the column holds 250`]);
      assert.equal(summary.badges.created, 2);
    });
  });

  describe("a lost database connection", () => {
    const lost = "Connection lost: The server closed the connection.";

    /** Holds back the badges' first INSERT until the assessments are committed, so that which writes follow the loss is known. */
    async function assessmentsCommitted() {
      for (let i = 0; i < 100 && (await db.query("SELECT id FROM assessments")).length < 3; i++)
        await new Promise((r) => setTimeout(r, 50));
    }

    it("names the first error when the server closes the connection between two statements, and attempts no write after it", async () => {
      withoutMalformed();
      beforeQuery = async (sql, connection) => {
        if (!sql.startsWith("INSERT INTO `badges`")) return;
        beforeQuery = undefined;
        await assessmentsCommitted();
        await db.query(`KILL ${connection.threadId}`);
        await new Promise((r) => setTimeout(r, 200));
      };
      const summary = await syncExpectingFailure();
      assert.deepEqual(summary.badges.errors, [`the database connection failed: ${lost}`]);
      assert.deepEqual(summary.assertions.errors, [`assertions not written: the database connection failed earlier in this run: ${lost}`]);
      assert.equal(summary.assessments.created, 3);
      assert.deepEqual(
        [summary.templates.created, summary.templates.failed],
        [1, 0],
        "the templates follow Airtable's listing, which succeeded",
      );
      assert.doesNotMatch(JSON.stringify(summary), /closed state|could not be listed/);
      assert.equal((await db.query("SELECT * FROM badges")).length, 0, "the badges' transaction was not committed");
      const next = await runSync(config);
      assert.deepEqual([next.badges.created, next.assertions.created], [2, 1], "the next run connects again");
    });

    it("names the first error when the connection is killed during a statement", async () => {
      withoutMalformed();
      const holder = await createConnection({ uri: db.url });
      let waited = 0;
      try {
        await holder.beginTransaction();
        beforeQuery = async (sql, connection) => {
          if (!sql.startsWith("INSERT INTO `badges`")) return;
          beforeQuery = undefined;
          await assessmentsCommitted();
          // Another transaction holds the key the INSERT writes: the INSERT waits, and is killed waiting.
          await holder.query("INSERT INTO badges (entityId, name) VALUES ('B1', 'held')");
          const started = Date.now();
          setTimeout(() => void db.query(`KILL ${connection.threadId}`).then(() => (waited = Date.now() - started)), 300);
        };
        const summary = await syncExpectingFailure();
        assert.ok(waited >= 250, `the INSERT waited for the key (${waited} ms) and was killed waiting`);
        assert.deepEqual(summary.badges.errors, [`the database connection failed: ${lost}`]);
        assert.deepEqual(summary.assertions.errors, [
          `assertions not written: the database connection failed earlier in this run: ${lost}`,
        ]);
        assert.doesNotMatch(JSON.stringify(summary), /closed state|could not be listed/);
      } finally {
        await holder.end();
      }
    });
  });

  describe("bounds", () => {
    it("waits as long as Airtable's Retry-After asks, then syncs", async () => {
      withoutMalformed();
      upstream.airtableOnce = { status: 429, headers: { "retry-after": "1" } };
      config.retry = { ...FAST_RETRY, maxRetryTimeMs: 5_000 };
      const started = Date.now();
      const summary = await runSync(config);
      assert.ok(Date.now() - started >= 1_000);
      assert.equal(summary.assessments.created, 3);
    });

    it("starts no template once the invocation's time budget has run out, and reports those it did not do", async () => {
      withoutMalformed();
      upstream.assessments[1].push({ id: "rec5", fields: { id: 5, name: "Other", template_repo: "other-template", latest_release: "v2" } });
      upstream.releases["other-template@v2"] = await zipball({ "main.py": "print(2)" });
      upstream.archiveDelayMs = 400;
      const summary = await syncExpectingFailure(new TimeBudget(Date.now() + 300));
      assert.equal(summary.templates.failed, 2);
      assert.match(summary.templates.errors.join("\n"), /assessment 5 \(other-template@v2\): not started before the time budget ran out/);
      assert.equal(summary.assessments.created, 4, "what started in time is done");
    });
  });

  describe("paged upstream lists", () => {
    it("stops on a repeated Airtable offset and fails that source with the reason", async () => {
      upstream.offsets = ["1", "1"];
      const summary = await syncExpectingFailure();
      assert.match(
        summary.assessments.errors[0],
        /Airtable assessments: page 2 repeats the cursor "1" of an earlier page; stopped instead of looping/,
      );
      assert.equal(server.to("GET", "/v0/appTESTBASE0000001/assessments").length, 2);
      assert.equal(summary.badges.failed, 0, "the other sources are synced");
    });

    it("stops at the page cap", async () => {
      upstream.assessments = Array.from({ length: 5 }, (_, i) => [{ id: `rec${i}`, fields: { id: i + 1 } }]);
      config.airtable.maxPages = 3;
      const summary = await syncExpectingFailure();
      assert.match(summary.assessments.errors[0], /more than 3 pages; stopped at the page cap/);
    });

    it("stops on a Badgr `next` link that repeats", async () => {
      upstream.assertionsNext = `${server.url}/badgr/v2/issuers/ISSUER1/assertions?after=X`;
      const summary = await syncExpectingFailure();
      assert.match(summary.assertions.errors[0], /repeats the cursor/);
      assert.equal(server.to("GET", "/badgr/v2/issuers/ISSUER1/assertions").length, 2);
    });
  });

  describe("templates in the bot's layout", () => {
    const marker = "synced-releases/python-template/v1.0.json";
    const keysUnder = async (prefix: string) => [...(await s3.objects("templates")).keys()].filter((k) => k.startsWith(prefix)).sort();
    const record = async () =>
      JSON.parse(String((await s3.objects("templates")).get(marker)?.body)) as { commit: string; objects: Record<string, number> };

    it("puts each file under templates/{template_repo}/{latest_release}/ and records the release beside it", async () => {
      withoutMalformed();
      await runSync(config);
      const objects = await s3.objects("templates");
      assert.deepEqual([...objects.keys()].sort(), [
        "synced-releases/python-template/v1.0.json",
        "templates/python-template/v1.0/.github/workflows/checks.yml",
        "templates/python-template/v1.0/README.md",
        "templates/python-template/v1.0/src/main.py",
      ]);
      assert.equal(objects.get("templates/python-template/v1.0/src/main.py")?.body, "print('v1')");
      assert.equal(objects.get("templates/python-template/v1.0/README.md")?.contentType, "text/markdown");
    });

    it("uploads a new release once, beside the old one", async () => {
      withoutMalformed();
      await runSync(config);
      (upstream.assessments[0][0].fields as Record<string, unknown>).latest_release = "v1.1";
      puts.length = 0;
      const summary = await runSync(config);
      assert.equal(summary.templates.created, 1);
      assert.deepEqual(puts.sort(), [
        "synced-releases/python-template/v1.1.json",
        "templates/python-template/v1.1/README.md",
        "templates/python-template/v1.1/src/main.py",
      ]);
      assert.equal(
        (await s3.objects("templates")).get("templates/python-template/v1.0/src/main.py")?.body,
        "print('v1')",
        "the old release stays",
      );
      puts.length = 0;
      await runSync(config);
      assert.deepEqual(puts, [], "the new release is not uploaded twice");
    });

    it("skips and reports unsafe entries, uploads the rest and records the release", async () => {
      withoutMalformed();
      const archive = await zipball({ "README.md": "# ok", "aa/escape.txt": "x", "Xetc/passwd": "root" }, { topFolder: "top" });
      upstream.releases["python-template@v1.0"] = patchName(
        patchName(archive, "top/aa/escape", "top/../escape"),
        "top/Xetc/passwd",
        "/top/etc/passwd",
      );
      const summary = await runSync(config);
      assert.equal(summary.templates.created, 1);
      assert.deepEqual(summary.templates.skipped, [
        "assessment 1 (python-template@v1.0): skipped invalid relative path: top/../escape.txt",
        "assessment 1 (python-template@v1.0): skipped absolute path: /top/etc/passwd",
      ]);
      const keys = [...(await s3.objects("templates")).keys()].sort();
      assert.deepEqual(keys, ["synced-releases/python-template/v1.0.json", "templates/python-template/v1.0/README.md"]);
    });

    it("fails only that template on an entry whose size does not match its header, without crashing the process", async () => {
      withoutMalformed();
      upstream.assessments[1].push({ id: "rec5", fields: { id: 5, name: "Other", template_repo: "other-template", latest_release: "v2" } });
      upstream.releases["other-template@v2"] = await zipball({ "main.py": "print(2)" });
      upstream.releases["python-template@v1.0"] = patchDeclaredSize(
        await zipball({ "README.md": "# fine", "big.txt": "a".repeat(5000) }),
        "big.txt",
        10,
      );
      const summary = await syncExpectingFailure();
      assert.deepEqual([summary.templates.created, summary.templates.failed], [1, 1]);
      assert.match(summary.templates.errors[0], /assessment 1 \(python-template@v1\.0\): entry big\.txt: too many bytes/);
      assert.deepEqual(await keysUnder("templates/python-template/"), [], "the entry before it was not uploaded either");
      assert.ok(
        !(await s3.objects("templates")).has("synced-releases/python-template/v1.0.json"),
        "the failed release is tried again next time",
      );
      assert.equal(summary.assessments.failed, 0);
    });

    it("fails only that template on a corrupt deflate stream", async () => {
      withoutMalformed();
      upstream.releases["python-template@v1.0"] = corruptData(await zipball({ "data.txt": "lorem ipsum ".repeat(2000) }), "data.txt");
      const summary = await syncExpectingFailure();
      assert.equal(summary.templates.failed, 1);
      assert.match(summary.templates.errors[0], /entry data\.txt: /);
    });

    it("fails a template whose entry does not match its CRC-32, uploading nothing", async () => {
      withoutMalformed();
      const archive = await zipball({ "README.md": "# v1", "src/main.py": "print('v1')" }, { store: true });
      upstream.releases["python-template@v1.0"] = patchName(archive, "print('v1')", "print('v2')");
      const summary = await syncExpectingFailure();
      assert.match(summary.templates.errors[0], /entry src\/main\.py: its content does not match its CRC-32/);
      assert.deepEqual(await keysUnder(""), []);
    });

    it("fails a template that expands past the bounds, with the reason", async () => {
      withoutMalformed();
      config.templates = { maxBytes: 4000, maxEntries: 100 };
      upstream.releases["python-template@v1.0"] = await zipball({ "a.txt": "a".repeat(3000), "b.txt": "b".repeat(3000) });
      let summary = await syncExpectingFailure();
      assert.match(summary.templates.errors[0], /the archive expands past 4000 bytes \(skills\.templates\.maxBytes\) at b\.txt/);
      config.templates = { maxBytes: 1024 * 1024, maxEntries: 1 };
      summary = await syncExpectingFailure();
      assert.match(summary.templates.errors[0], /the archive has 2 entries; at most 1 are allowed \(skills\.templates\.maxEntries\)/);
    });

    it("records the commit the files came from, and every object with its size", async () => {
      withoutMalformed();
      await runSync(config);
      assert.deepEqual(await record(), {
        repo: "brn/python-template",
        release: "v1.0",
        commit: zipballCommit(upstream.releases["python-template@v1.0"]),
        files: 3,
        objects: {
          "templates/python-template/v1.0/README.md": 4,
          "templates/python-template/v1.0/src/main.py": 11,
          "templates/python-template/v1.0/.github/workflows/checks.yml": 8,
        },
        skipped: [],
      });
    });

    it("uploads a release again when its tag points at another commit, replacing its files and removing those the commit no longer has", async () => {
      withoutMalformed();
      await runSync(config);
      upstream.releases["python-template@v1.0"] = await zipball({ "README.md": "# v1, fixed", "src/main.py": "print('v1 fixed')" });
      puts.length = 0;
      const summary = await runSync(config);
      assert.deepEqual([summary.templates.created, summary.templates.updated, summary.templates.unchanged], [0, 1, 0]);
      assert.deepEqual(puts.sort(), [marker, "templates/python-template/v1.0/README.md", "templates/python-template/v1.0/src/main.py"]);
      assert.deepEqual(await keysUnder("templates/"), [
        "templates/python-template/v1.0/README.md",
        "templates/python-template/v1.0/src/main.py",
      ]);
      assert.equal((await s3.objects("templates")).get("templates/python-template/v1.0/src/main.py")?.body, "print('v1 fixed')");
      assert.equal((await record()).commit, zipballCommit(upstream.releases["python-template@v1.0"]));
      puts.length = 0;
      assert.equal((await runSync(config)).templates.unchanged, 1);
      assert.deepEqual(puts, []);
    });

    it("puts back the objects missing from the bucket, and only those", async () => {
      withoutMalformed();
      await runSync(config);
      await s3.client.send(new DeleteObjectCommand({ Bucket: "templates", Key: "templates/python-template/v1.0/src/main.py" }));
      puts.length = 0;
      const summary = await runSync(config);
      assert.equal(summary.templates.updated, 1);
      assert.deepEqual(puts, ["templates/python-template/v1.0/src/main.py"]);
      assert.equal((await s3.objects("templates")).get("templates/python-template/v1.0/src/main.py")?.body, "print('v1')");
    });

    it("checks a synced release with one conditional GitHub request and three S3 requests in all, downloading nothing", async () => {
      withoutMalformed();
      await runSync(config);
      server.requests.length = 0;
      s3Requests.length = 0;
      await runSync(config);
      assert.deepEqual(s3Requests, [
        "ListObjectsV2 synced-releases/",
        `GetObject ${marker}`,
        "ListObjectsV2 templates/python-template/v1.0/",
      ]);
      const github = server.requests.filter((r) => r.path.startsWith("/github/") || r.path.startsWith("/codeload/"));
      assert.deepEqual(
        github.map((r) => [r.path, r.headers["if-none-match"]]),
        [["/github/repos/brn/python-template/commits/v1.0", `"${zipballCommit(upstream.releases["python-template@v1.0"])}"`]],
      );
    });

    it("leaves nothing under the release's prefix, and no record, when its eleventh entry is over the bounds: every entry is checked before the first upload", async () => {
      withoutMalformed();
      config.templates = { maxBytes: 10_000, maxEntries: 100 };
      const small = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}.txt`, "x".repeat(100)]));
      upstream.releases["python-template@v1.0"] = await zipball({ ...small, "big.bin": "b".repeat(20_000) });
      const summary = await syncExpectingFailure();
      assert.match(summary.templates.errors[0], /the archive expands past 10000 bytes \(skills\.templates\.maxBytes\) at big\.bin/);
      assert.deepEqual(puts, []);
      assert.deepEqual(await keysUnder(""), []);
    });

    it("keeps a synced release's files and record when its tag moves to an archive that fails", async () => {
      withoutMalformed();
      await runSync(config);
      const before = await s3.objects("templates");
      upstream.releases["python-template@v1.0"] = corruptData(await zipball({ "data.txt": "lorem ipsum ".repeat(2000) }), "data.txt");
      puts.length = 0;
      const summary = await syncExpectingFailure();
      assert.equal(summary.templates.failed, 1);
      assert.deepEqual(puts, []);
      assert.deepEqual([...(await s3.objects("templates")).entries()], [...before.entries()]);
    });

    it("uploads nothing when the zipball is of another commit than the tag named a moment before", async () => {
      withoutMalformed();
      upstream.tagged = { "python-template@v1.0": await zipball({ "README.md": "# earlier" }) };
      const summary = await syncExpectingFailure();
      assert.match(
        summary.templates.errors[0],
        /the archive is of commit [0-9a-f]{40}, not of [0-9a-f]{40}, which the tag pointed at a moment before; it is tried again next run/,
      );
      assert.deepEqual(await keysUnder(""), []);
    });

    it("reports a missing release archive without failing the other sources", async () => {
      withoutMalformed();
      (upstream.assessments[0][0].fields as Record<string, unknown>).latest_release = "v9.9";
      const summary = await syncExpectingFailure();
      assert.equal(summary.templates.failed, 1);
      assert.match(
        summary.templates.errors[0],
        /assessment 1 \(python-template@v9\.9\): GET \S+\/repos\/brn\/python-template\/commits\/v9\.9 answered HTTP 422/,
      );
      assert.equal(summary.badges.created, 2);
    });
  });
});
