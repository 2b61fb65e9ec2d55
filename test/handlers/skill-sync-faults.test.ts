/** Bad input and faults of skill-sync (the skills app): see test/helpers/faults.ts. */
import * as assert from "node:assert/strict";
import type { Pool } from "mysql2/promise";
import { brnPool, runSync, type SkillSyncConfig, SyncFailedError } from "../../handlers/skills/sync";
import { FAST_RETRY, type HttpStub, type StubResponse, startStub } from "../../tooling/local/http-stub";
import { type BrnDatabase, createBrnDatabase } from "../../tooling/local/mysql";

describe("bad input and faults", function () {
  this.timeout(60_000);
  describe("skill-sync (its input is what the upstream services answer)", () => {
    let upstream: HttpStub;
    let airtable: () => StubResponse;
    let skills: SkillSyncConfig;
    let db: BrnDatabase;
    let pool: Pool;
    before(async () => {
      db = await createBrnDatabase("tributary_faults_test");
      pool = brnPool(db.url);
      upstream = await startStub((req) => {
        if (req.path.startsWith("/v0/")) return airtable();
        if (req.path === "/badgr/o/token/") return { body: { access_token: "b" } };
        if (req.path.endsWith("/badgeclasses")) return { body: { result: [{ entityId: "B1", name: "Badge" }] } };
        if (req.path.endsWith("/assertions")) return { body: { result: [] } };
        return { status: 404 };
      });
    });
    after(async () => {
      await upstream.close();
      await pool.end();
      await db.drop();
    });
    beforeEach(async () => {
      for (const table of ["assertions", "badges", "assessments"]) await db.query(`DELETE FROM \`${table}\``);
      airtable = () => ({ body: { records: [{ id: "rec1", fields: { id: 1, name: "A" } }] } });
      skills = {
        db: async () => pool,
        bucket: "unused",
        airtable: { apiUrl: `${upstream.url}/v0`, baseId: "appB", table: "assessments", maxPages: 10 },
        badgr: { baseUrl: `${upstream.url}/badgr`, issuerId: "I", scope: "s", grantType: "password", maxPages: 10 },
        github: { apiUrl: `${upstream.url}/github`, org: "o" },
        templates: { maxBytes: 1024, maxEntries: 10 },
        secret: async (name) => (name === "GITHUB_TOKEN" ? undefined : "x"),
        // No assessment has a template, so S3 is only listed: an empty answer.
        s3: { send: async () => ({ Contents: [] }) } as never,
        retry: FAST_RETRY,
      };
    });
    const assessments = () => db.query("SELECT * FROM assessments");

    const badUpstream: [string, () => StubResponse, RegExp][] = [
      ["an answer that is not JSON", () => ({ body: "<html>maintenance</html>" }), /JSON/],
      ["a page without records", () => ({ body: { data: [] } }), /without records/],
      [
        "records of the wrong type",
        () => ({
          body: {
            records: [
              { id: "r", fields: { id: ["a"] } },
              { id: "q", fields: "x" },
            ],
          },
        }),
        /fields\.id must be an integer/,
      ],
      [
        "a field that is a list of objects",
        () => ({ body: { records: [{ id: "r", fields: { id: 1, languages: [{ a: 1 }] } }] } }),
        /fields\.languages is a list of objects/,
      ],
    ];
    for (const [name, answer, error] of badUpstream) {
      it(`reports ${name} from Airtable as a failed source, writes no assessment, and still syncs Badgr`, async () => {
        airtable = answer;
        await assert.rejects(runSync(skills), (err: unknown) => {
          assert.ok(err instanceof SyncFailedError);
          assert.match(err.summary.assessments.errors.join(" "), error);
          assert.equal(err.summary.badges.created, 1);
          return true;
        });
        assert.equal((await assessments()).length, 0);
      });
    }

    for (const [name, fault] of [
      ["HTTP 500", { status: 500 }],
      ["HTTP 429", { status: 429 }],
      ["a slow answer", { status: 200, delayMs: 800, body: { records: [{ id: "rec1", fields: { id: 1 } }] } }],
      ["a dropped connection", { reset: true }],
    ] as [string, StubResponse][]) {
      it(`retries ${name} from Airtable within bounds, then syncs`, async () => {
        let calls = 0;
        airtable = () => (++calls === 1 ? fault : { body: { records: [{ id: "rec1", fields: { id: 1 } }] } });
        await runSync(skills);
        assert.equal((await assessments()).length, 1);
      });
    }

    it("fails every database source, naming the reason, when the database cannot be reached", async () => {
      const unreachable = brnPool("mysql://root@127.0.0.1:1/none");
      skills.db = async () => unreachable;
      await assert.rejects(runSync(skills), (err: unknown) => {
        assert.ok(err instanceof SyncFailedError);
        assert.match(err.summary.assessments.errors[0], /ECONNREFUSED/);
        assert.match(err.summary.badges.errors[0], /ECONNREFUSED/);
        return true;
      });
      await unreachable.end();
    });
  });
});
