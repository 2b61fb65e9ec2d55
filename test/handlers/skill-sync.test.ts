import * as assert from "node:assert/strict";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SKILLS_TABLES } from "../../components/skills/skill-app-sync";
import { S3_CLIENT_DEFAULTS, runSync, type SkillSyncConfig, SyncFailedError, type SyncSummary } from "../../handlers/lib/skills/sync";
import { LOCAL_CREDENTIALS, type LocalDynamo, startDynalite } from "../../tooling/local/dynamo";
import { FAST_RETRY, type HttpStub, type StubResponse, startStub } from "../../tooling/local/http-stub";
import { type LocalS3, S3RVER_CREDENTIALS, startS3rver } from "../../tooling/local/s3";
import { zipball } from "../../tooling/local/zip";


interface Upstream {
  assessments: Record<string, unknown>[][];
  badges: Record<string, unknown>[];
  assertions: Record<string, unknown>[];
  releases: Record<string, Buffer>;
  badgrDown: boolean;
}

describe("skill-sync handler", function () {
  this.timeout(60_000);
  let dynamo: LocalDynamo;
  let s3: LocalS3;
  let server: HttpStub;
  let upstream: Upstream;
  let config: SkillSyncConfig;
  let writes: string[];
  let run = 0;

  before(async () => {
    dynamo = await startDynalite();
    s3 = await startS3rver(["templates"]);
    server = await startStub(async (req): Promise<StubResponse> => {
      if (req.path === "/v0/appTESTBASE0000001/assessments") {
        if (req.headers.authorization !== "Bearer airtable-token") return { status: 401 };
        const page = Number(req.query.get("offset") ?? "0");
        const records = upstream.assessments[page];
        return { body: { records, ...(page + 1 < upstream.assessments.length ? { offset: String(page + 1) } : {}) } };
      }
      if (req.path.startsWith("/badgr/")) {
        if (upstream.badgrDown) return { status: 503, body: "maintenance" };
        if (req.path === "/badgr/o/token/") {
          const form = new URLSearchParams(req.body);
          const ok = form.get("grant_type") === "password" && form.get("username") === "badgr-user" && form.get("password") === "badgr-pass" && form.get("client_id") === "badgr-client";
          return ok ? { body: { access_token: "badgr-token", token_type: "Bearer", expires_in: 86400 } } : { status: 400, body: { error: "invalid_grant" } };
        }
        if (req.headers.authorization !== "Bearer badgr-token") return { status: 401 };
        if (req.path === "/badgr/v2/issuers/ISSUER1/badgeclasses") return { body: { status: { success: true }, result: upstream.badges } };
        if (req.path === "/badgr/v2/issuers/ISSUER1/assertions") return { body: { status: { success: true }, result: upstream.assertions } };
      }
      const zip = /^\/github\/repos\/brn\/([^/]+)\/zipball\/([^/]+)$/.exec(req.path);
      if (zip) return { status: 302, headers: { location: `${server.url}/codeload/${zip[1]}/${zip[2]}` } };
      const codeload = /^\/codeload\/([^/]+)\/([^/]+)$/.exec(req.path);
      if (codeload) {
        const archive = upstream.releases[`${codeload[1]}@${codeload[2]}`];
        return archive ? { headers: { "content-type": "application/zip" }, body: archive } : { status: 404 };
      }
      return { status: 404 };
    });
  });
  after(async () => {
    await server.close();
    await s3.close();
    await dynamo.close();
  });

  beforeEach(async () => {
    run += 1;
    const tables = { assessments: `assessments-${run}`, badges: `badges-${run}`, assertions: `assertions-${run}` };
    for (const [key, schema] of Object.entries(SKILLS_TABLES)) await dynamo.createTable(tables[key as keyof typeof tables], schema);
    upstream = {
      assessments: [
        [
          { id: "rec1", fields: { id: "python-basics", name: "Python basics", template_repo: "python-template", latest_release: "v1.0" } },
          { id: "rec2", fields: { id: "r-basics", name: "R basics", score: 7 } },
        ],
        [
          { id: "rec3", fields: { id: "git", name: "Git", tags: ["vcs"] } },
          { id: "rec4", fields: { name: "no id: malformed" } },
        ],
      ],
      badges: [
        { entityId: "B1", name: "Python Pro", image: "https://badgr.example/b1.png", criteriaNarrative: "pass" },
        { entityId: "B2", name: "Git Guru", image: "https://badgr.example/b2.png" },
      ],
      assertions: [
        {
          entityId: "A1",
          badgeclass: "B1",
          openBadgeId: "https://api.badgr.io/public/assertions/A1",
          image: "https://badgr.example/a1.png",
          issuedOn: "2024-01-01T00:00:00Z",
          recipient: { identity: "sha256$abc", type: "email", hashed: true, plaintextIdentity: "learner@example.org" },
          evidence: [{ url: "https://github.com/learner/pr/1", narrative: "first" }, { url: "https://ignored" }],
        },
      ],
      releases: {
        "python-template@v1.0": await zipball({ "README.md": "# v1", "src/main.py": "print('v1')", "data/config.json": "{}" }),
        "python-template@v1.1": await zipball({ "README.md": "# v1.1", "src/main.py": "print('v1.1')" }),
      },
      badgrDown: false,
    };
    // Clients of their own per test, counting every write they send.
    writes = [];
    const countWrites = (next: (args: unknown) => unknown, context: { commandName?: string }) => (args: unknown) => {
      if (/Put|Write|Update|Delete/.test(String(context.commandName))) writes.push(String(context.commandName));
      return next(args);
    };
    const count = (client: { middlewareStack: { add: (m: never, o: object) => void } }) =>
      client.middlewareStack.add(countWrites as never, { step: "initialize", name: "countWrites" });
    const dynamoClient = new DynamoDBClient({ endpoint: dynamo.endpoint, region: "eu-west-2", credentials: LOCAL_CREDENTIALS });
    const s3Client = new S3Client({ ...S3_CLIENT_DEFAULTS, endpoint: s3.endpoint, region: "eu-west-2", credentials: S3RVER_CREDENTIALS, forcePathStyle: true });
    count(dynamoClient as never);
    count(s3Client as never);
    server.requests.length = 0;
    const secrets: Record<string, string> = {
      AIRTABLE_TOKEN: "airtable-token",
      BADGR_USERNAME: "badgr-user",
      BADGR_PASSWORD: "badgr-pass",
      BADGR_CLIENT_ID: "badgr-client",
    };
    config = {
      tables,
      bucket: "templates",
      airtable: { apiUrl: `${server.url}/v0`, baseId: "appTESTBASE0000001", table: "assessments" },
      badgr: { baseUrl: `${server.url}/badgr`, issuerId: "ISSUER1" },
      github: { apiUrl: `${server.url}/github`, org: "brn" },
      secret: async (name) => secrets[name],
      documents: DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } }),
      s3: s3Client,
      retry: FAST_RETRY,
    };
  });

  async function syncExpectingFailure(): Promise<SyncSummary> {
    try {
      await runSync(config);
    } catch (err) {
      assert.ok(err instanceof SyncFailedError, String(err));
      return err.summary;
    }
    assert.fail("the sync should have failed");
  }

  it("syncs every source on a first run, reports the malformed record, and unpacks the template", async () => {
    const summary = await syncExpectingFailure();
    assert.deepEqual(summary.assessments, {
      created: 3,
      updated: 0,
      unchanged: 0,
      failed: 1,
      errors: ["record rec4: fields.id is missing or not a string"],
    });
    assert.deepEqual(summary.badges, { created: 2, updated: 0, unchanged: 0, failed: 0, errors: [] });
    assert.deepEqual(summary.assertions, { created: 1, updated: 0, unchanged: 0, failed: 0, errors: [] });
    assert.deepEqual(summary.templates, { created: 1, updated: 0, unchanged: 0, failed: 0, errors: [] });
    assert.equal(server.to("GET", "/v0/appTESTBASE0000001/assessments").length, 2, "both Airtable pages were read");

    const assessments = new Map((await dynamo.scan(config.tables.assessments)).map((a) => [a.id, a]));
    assert.deepEqual([...assessments.keys()].sort(), ["git", "python-basics", "r-basics"]);
    assert.equal(assessments.get("python-basics")?.synced_release, "v1.0");
    assert.equal(assessments.get("r-basics")?.score, 7);

    const [assertion] = await dynamo.scan(config.tables.assertions);
    assert.equal(assertion.recipient_identity, "sha256$abc");
    assert.equal(assertion.recipient_type, "email");
    assert.equal(assertion.evidence_url, "https://github.com/learner/pr/1");
    assert.equal(assertion.evidence_narrative, "first");
    assert.equal(assertion.recipient, undefined);
    assert.equal(assertion.badge_name, "Python Pro");
    assert.match(assertion.linkedin_share_url, /^https:\/\/www\.linkedin\.com\/profile\/add\?startTask=CERTIFICATION_NAME&name=Python%20Pro&certUrl=https%3A%2F%2Fapi\.badgr\.io/);
    assert.match(assertion.twitter_share_url, /^https:\/\/twitter\.com\/intent\/tweet\?text=I%20earned%20the%20Python%20Pro%20badge/);
    assert.match(assertion.facebook_share_url, /^https:\/\/www\.facebook\.com\/sharer\/sharer\.php\?u=/);
    assert.match(assertion.embed_html, /<a href="https:\/\/api\.badgr\.io\/public\/assertions\/A1" title="Python Pro"><img src=".*" alt="Python Pro"><\/a>/);

    const objects = await s3.objects("templates");
    assert.deepEqual([...objects.keys()].sort(), ["templates/README.md", "templates/data/config.json", "templates/src/main.py"]);
    assert.equal(objects.get("templates/src/main.py")?.body, "print('v1')");
    assert.equal(objects.get("templates/README.md")?.contentType, "text/markdown");
    assert.equal(objects.get("templates/data/config.json")?.contentType, "application/json");
  });

  it("writes nothing to DynamoDB or S3 on a second run with no upstream change", async () => {
    await syncExpectingFailure();
    writes.length = 0;
    const summary = await syncExpectingFailure();
    assert.deepEqual(writes, []);
    assert.equal(summary.assessments.unchanged, 3);
    assert.equal(summary.badges.unchanged, 2);
    assert.equal(summary.assertions.unchanged, 1);
    assert.equal(summary.templates.unchanged, 1);
  });

  it("succeeds without throwing when every source is clean", async () => {
    upstream.assessments[1].pop();
    const summary = await runSync(config);
    assert.ok(Object.values(summary).every((s) => s.failed === 0));
  });

  it("rewrites a changed badge, and the assertions whose share links name it", async () => {
    await syncExpectingFailure();
    upstream.badges[0] = { ...upstream.badges[0], name: "Python Master" };
    writes.length = 0;
    const summary = await syncExpectingFailure();
    assert.deepEqual([summary.badges.updated, summary.badges.unchanged], [1, 1]);
    assert.equal(summary.assertions.updated, 1);
    assert.deepEqual(writes, ["BatchWriteItemCommand", "BatchWriteItemCommand"]);
    const badges = new Map((await dynamo.scan(config.tables.badges)).map((b) => [b.entityId, b]));
    assert.equal(badges.get("B1")?.name, "Python Master");
    assert.equal((await dynamo.scan(config.tables.assertions))[0].badge_name, "Python Master");
  });

  it("uploads a new release once and records it", async () => {
    await syncExpectingFailure();
    upstream.assessments[0][0] = { ...upstream.assessments[0][0], fields: { ...upstream.assessments[0][0].fields as object, latest_release: "v1.1" } };
    const summary = await syncExpectingFailure();
    assert.deepEqual([summary.templates.updated, summary.assessments.updated], [1, 1]);
    const objects = await s3.objects("templates");
    assert.equal(objects.get("templates/src/main.py")?.body, "print('v1.1')");
    const stored = (await dynamo.scan(config.tables.assessments)).find((a) => a.id === "python-basics");
    assert.equal(stored?.synced_release, "v1.1");
    assert.equal(stored?.latest_release, "v1.1");
    writes.length = 0;
    await syncExpectingFailure();
    assert.deepEqual(writes, [], "the new release is not uploaded twice");
  });

  it("keeps syncing Airtable while Badgr is down, and throws with the summary", async () => {
    upstream.badgrDown = true;
    const summary = await syncExpectingFailure();
    assert.equal(summary.assessments.created, 3);
    assert.equal(summary.templates.created, 1);
    assert.equal(summary.badges.failed, 1);
    assert.match(summary.badges.errors[0], /HTTP 503/);
    assert.equal(summary.assertions.failed, 1);
    assert.equal((await dynamo.scan(config.tables.assessments)).length, 3);
    assert.equal((await dynamo.scan(config.tables.badges)).length, 0);
    assert.equal(server.to("POST", "/badgr/o/token/").length, FAST_RETRY.retries + 1, "the token request was retried within bounds");
  });

  it("reports a missing release archive without failing the other templates or sources", async () => {
    upstream.assessments[0][0] = { ...upstream.assessments[0][0], fields: { ...upstream.assessments[0][0].fields as object, latest_release: "v9.9" } };
    const summary = await syncExpectingFailure();
    assert.equal(summary.templates.failed, 1);
    assert.match(summary.templates.errors[0], /assessment python-basics \(python-template@v9\.9\).*HTTP 404/);
    assert.equal(summary.badges.created, 2);
    const stored = (await dynamo.scan(config.tables.assessments)).find((a) => a.id === "python-basics");
    assert.equal(stored?.synced_release, undefined, "a failed release is tried again next time");
  });

  it("writes in batches of at most 25", async () => {
    upstream.assessments = [Array.from({ length: 60 }, (_, i) => ({ id: `rec${i}`, fields: { id: `a-${i}` } }))];
    writes.length = 0;
    const summary = await runSync(config);
    assert.equal(summary.assessments.created, 60);
    assert.equal(writes.filter((w) => w === "BatchWriteItemCommand").length - 2, 3, "60 assessments in 3 batches (plus badges and assertions)");
  });
});
