/**
 * Secrets rotate without downtime: a warm container reads a rotated secret from SSM (the
 * stand-in) when the old one fails, and within maxAge when nothing fails. The webhook
 * accepts the previous key during the rotation window.
 */
import * as assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import * as fs from "node:fs";
import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { MongoServerError } from "mongodb";
import { createConnection } from "mysql2/promise";
import type { Pool } from "mysql2/promise";
import { signingKeys } from "../../handlers/alma/webhook";
import { IotaConnection, isMongoAuthError } from "../../handlers/iota/connection";
import { Iota } from "../../handlers/iota/engine";
import { createRecord } from "../../handlers/iota/records";
import { configFromEnv as lessonsConfigFromEnv, createHandler } from "../../handlers/lessons/handler";
import { ClientCredentialsToken } from "../../handlers/lib/client-credentials";
import { ALMA_ENV, ALMA_EVENTS, IOTA_ENV, LESSONS_ENV, SECRETS_EXTENSION_ENV, topicArnEnv } from "../../handlers/lib/env-names";
import { HttpError } from "../../handlers/lib/http";
import { extensionFetcher, MIN_REFRESH_INTERVAL_MS, SecretReader } from "../../handlers/lib/secrets";
import { ssmFetcher } from "../../handlers/lib/ssm-fetcher";
import { BrnPools, configFromEnv as skillsConfigFromEnv, runSync } from "../../handlers/skills/sync";
import { localParameterName, LOCAL_APPS, type LocalApp } from "../../scripts/local";
import { auth0TokenRoute } from "../../tooling/local/auth0";
import { localAwsEnv, localClientConfig, setEnv } from "../../tooling/local/aws";
import { type FakeSns, startFakeSns } from "../../tooling/local/fake-sns";
import { type FakeSsm, startFakeSsm } from "../../tooling/local/fake-ssm";
import { FAST_RETRY, type RecordedRequest, type StubResponse, startStub } from "../../tooling/local/http-stub";
import { MemoryStore } from "../../tooling/local/iota-memory-store";
import { MYSQL_URL } from "../../tooling/local/mysql";
import { payloadPath } from "../helpers/fixtures";

const HOUR_MS = 3600 * 1000;
/** What a zip function reads its secrets with: the extension's API, served by the SSM stand-in. */
const extensionEnv = (ssm: FakeSsm) => ({ [SECRETS_EXTENSION_ENV.httpPort]: ssm.extensionPort, AWS_SESSION_TOKEN: "session-token" });
const sign = (key: string, body: string) => createHmac("sha256", key).update(body).digest("base64");

/** Date.now moved forward by `offsetMs`, for what a warm container reads from the clock (maxAge, the rotation window). */
function movableClock() {
  const real = Date.now;
  let offset = 0;
  Date.now = () => real() + offset;
  return {
    advance: (ms: number) => void (offset += ms),
    restore: () => void (Date.now = real),
  };
}

describe("secret rotation", function () {
  this.timeout(60_000);

  describe("the SecretReader", () => {
    let ssm: FakeSsm;
    let now: number;
    const PARAM = "/tributary/test/secret";
    const reader = (options: ConstructorParameters<typeof SecretReader>[0] = {}) =>
      new SecretReader({ env: { TOKEN_PARAM: PARAM }, fetch: extensionFetcher(extensionEnv(ssm)), now: () => now, ...options });

    beforeEach(async () => {
      ssm = await startFakeSsm({ parameters: { [PARAM]: "v1" } });
      now = 1_000_000;
    });
    afterEach(() => ssm.close());

    it("picks a rotation up within maxAge without any failure, and reads nothing before", async () => {
      const secrets = reader({ maxAgeMs: 300_000 });
      assert.equal(await secrets.get("TOKEN"), "v1");
      ssm.put(PARAM, "v2");
      now += 299_000;
      assert.equal(await secrets.get("TOKEN"), "v1", "still within maxAge: the cached value");
      assert.equal(ssm.gets.length, 1);
      now += 2_000;
      assert.equal(await secrets.get("TOKEN"), "v2");
      assert.equal(ssm.gets.length, 2);
    });

    it("takes maxAge from TRIBUTARY_SECRETS_MAX_AGE_SECONDS, and refuses a value that is not a whole number", async () => {
      const secrets = reader({ env: { TOKEN_PARAM: PARAM, TRIBUTARY_SECRETS_MAX_AGE_SECONDS: "60" } });
      await secrets.get("TOKEN");
      ssm.put(PARAM, "v2");
      now += 59_000;
      assert.equal(await secrets.get("TOKEN"), "v1");
      now += 2_000;
      assert.equal(await secrets.get("TOKEN"), "v2");
      assert.throws(
        () => new SecretReader({ env: { TRIBUTARY_SECRETS_MAX_AGE_SECONDS: "5m" } }),
        /TRIBUTARY_SECRETS_MAX_AGE_SECONDS must be a whole number/,
      );
    });

    it("shares one read among concurrent callers", async () => {
      const secrets = reader();
      const values = await Promise.all([...Array(20)].map((_, i) => (i % 2 ? secrets.get("TOKEN") : secrets.refresh("TOKEN"))));
      assert.deepEqual(new Set(values), new Set(["v1"]));
      assert.equal(ssm.gets.length, 1);
    });

    it("reads at once on refresh, but at most once per refresh interval", async () => {
      const secrets = reader();
      await secrets.get("TOKEN");
      ssm.put(PARAM, "v2");
      assert.equal(await secrets.refresh("TOKEN"), "v2");
      ssm.put(PARAM, "v3");
      now += MIN_REFRESH_INTERVAL_MS - 1;
      assert.equal(await secrets.refresh("TOKEN"), "v2", "too soon after the last forced read");
      assert.equal(ssm.gets.length, 2);
      now += 1;
      assert.equal(await secrets.refresh("TOKEN"), "v3");
      assert.equal(ssm.gets.length, 3);
    });

    it("keeps the value it had when SSM fails, and tries again after the refresh interval", async () => {
      const secrets = reader({ maxAgeMs: 60_000 });
      await secrets.get("TOKEN");
      ssm.put(PARAM, "v2");
      now += 61_000;
      ssm.failNext(10, 400);
      const warnings: string[] = [];
      const warn = console.warn;
      console.warn = (line: string) => warnings.push(line);
      try {
        assert.equal(await secrets.get("TOKEN"), "v1");
      } finally {
        console.warn = warn;
      }
      assert.deepEqual(
        warnings.map((line) => JSON.parse(line)),
        [
          {
            level: "WARN",
            message: "secret not read again: the value read before is kept",
            parameter: PARAM,
            error: `${PARAM} was not read through the Parameters and Secrets extension (127.0.0.1:${ssm.extensionPort}): 400 injected failure`,
          },
        ],
      );
      const failedReads = ssm.gets.length;
      assert.equal(await secrets.get("TOKEN"), "v1", "no new read right after a failed one");
      assert.equal(ssm.gets.length, failedReads);
      ssm.failNext(0);
      now += MIN_REFRESH_INTERVAL_MS;
      assert.equal(await secrets.get("TOKEN"), "v2");
    });

    it("fails a first read that fails, and names a secret that is not configured", async () => {
      ssm.failNext(10, 400);
      await assert.rejects(reader().get("TOKEN"), /injected failure/);
      await assert.rejects(
        reader({ env: {} }).get("TOKEN"),
        /secret TOKEN is not configured: set TOKEN_PARAM \(an SSM parameter name\) or TOKEN/,
      );
    });

    it("signingKeys: the previous key only while the current one is younger than the window, read once; a failed read is tried again after the refresh interval", async () => {
      const clock = movableClock();
      try {
        const keys = signingKeys(reader({ now: undefined }), "TOKEN", HOUR_MS);
        assert.equal(await keys.previous(), undefined, "version 1 has none");
        ssm.put(PARAM, "v2");
        assert.equal(await keys.refresh(), true);
        assert.equal(await keys.current(), "v2");
        ssm.failNext(1, 400);
        assert.equal(await keys.previous(), undefined, "SSM failed: only the current key for now");
        assert.equal(await keys.previous(), undefined);
        clock.advance(MIN_REFRESH_INTERVAL_MS);
        assert.equal(await keys.previous(), "v1");
        assert.equal(await keys.previous(), "v1");
        assert.deepEqual(ssm.gets, [PARAM, PARAM, `${PARAM}:1`, `${PARAM}:1`]);
        assert.equal(await keys.refresh(), false, "the key read again is the same");
        clock.advance(HOUR_MS);
        assert.equal(await keys.previous(), undefined, "the window is over");
      } finally {
        clock.restore();
      }
    });

    it("reads through the extension's API: the session token in its header, a version by `version=`, dates as the extension writes them", async () => {
      ssm.put(PARAM, "v2");
      const fetch = extensionFetcher(extensionEnv(ssm));
      const current = await fetch(PARAM);
      assert.equal(current.value, "v2");
      assert.equal(current.version, 2);
      assert.ok(current.lastModified instanceof Date && Math.abs(current.lastModified.getTime() - Date.now()) < 60_000);
      assert.equal((await fetch(PARAM, 1)).value, "v1");
      assert.deepEqual(ssm.gets, [PARAM, `${PARAM}:1`]);
      const requests = ssm.stub.to("GET", "/systemsmanager/parameters/get");
      assert.deepEqual(
        requests.map((r) => r.headers["x-aws-parameters-secrets-token"]),
        ["session-token", "session-token"],
      );
      assert.deepEqual(
        requests.map((r) => Object.fromEntries(r.query)),
        [
          { name: PARAM, withDecryption: "true" },
          { name: PARAM, version: "1", withDecryption: "true" },
        ],
      );
    });

    it("names the parameter, the extension and its answer when a read fails; never reads without a session token", async () => {
      const fetch = extensionFetcher(extensionEnv(ssm));
      await assert.rejects(fetch("/no/such/parameter"), (err: Error & { status?: number }) => {
        assert.equal(err.status, 400);
        assert.equal(
          err.message,
          `/no/such/parameter was not read through the Parameters and Secrets extension (127.0.0.1:${ssm.extensionPort}): 400 Bad Request: an unexpected error occurred while executing request`,
        );
        return true;
      });
      await assert.rejects(fetch(PARAM, 7), /\/tributary\/test\/secret:7 was not read .*: 400 Bad Request/);
      await assert.rejects(
        extensionFetcher({ ...extensionEnv(ssm), AWS_SESSION_TOKEN: "" })(PARAM),
        /AWS_SESSION_TOKEN, which the Parameters and Secrets extension requires, is not set/,
      );
      const closed = await startFakeSsm();
      await closed.close();
      await assert.rejects(
        extensionFetcher(extensionEnv(closed))(PARAM),
        new RegExp(`127\\.0\\.0\\.1:${closed.extensionPort}\\): .*ECONNREFUSED`),
      );
      assert.deepEqual(ssm.gets, ["/no/such/parameter", `${PARAM}:7`]);
    });

    it("the container image's fetcher reads the same versions through SSM's own API, as SSMClient reads them", async () => {
      ssm.put(PARAM, "v2");
      const fetch = ssmFetcher(localClientConfig(ssm.url));
      const latest = await fetch(PARAM);
      assert.deepEqual({ ...latest, lastModified: undefined }, { value: "v2", version: 2, lastModified: undefined });
      const sdk = await new SSMClient(localClientConfig(ssm.url)).send(new GetParameterCommand({ Name: PARAM, WithDecryption: true }));
      assert.deepEqual(latest.lastModified, sdk.Parameter?.LastModifiedDate);
      assert.equal((await fetch(PARAM, 1)).value, "v1");
      assert.deepEqual(ssm.gets, [PARAM, PARAM, `${PARAM}:1`], "ours, the SDK's, ours");
      assert.equal(ssm.stub.to("GET", "/systemsmanager/parameters/get").length, 0);
    });

    it("reads a secret from the environment as before: no SSM, no previous version", async () => {
      const secrets = reader({ env: { TOKEN: "inline" } });
      assert.equal(await secrets.get("TOKEN"), "inline");
      assert.equal(await secrets.refresh("TOKEN"), "inline");
      assert.equal(await signingKeys(secrets, "TOKEN", HOUR_MS).previous(), undefined);
      assert.equal(ssm.gets.length, 0);
    });
  });

  describe("alma webhook, in a warm container", () => {
    const PARAM = "/tributary/alma-webhook-secret";
    let ssm: FakeSsm;
    let sns: FakeSns;
    let restoreEnv: () => void;
    let clock: ReturnType<typeof movableClock>;
    let handler: (event: unknown) => Promise<{ statusCode: number; body: string }>;
    const fixture = JSON.parse(fs.readFileSync(payloadPath("alma-webhook", "loan_created_event.json"), "utf8"));
    const deliver = (key: string) => handler({ ...fixture, headers: { ...fixture.headers, "X-Exl-Signature": sign(key, fixture.body) } });
    const status = async (key: string) => (await deliver(key)).statusCode;

    before(async () => {
      ssm = await startFakeSsm({ parameters: { [PARAM]: "old-key" } });
      sns = await startFakeSns();
      restoreEnv = setEnv({
        ...localAwsEnv({ AWS_ENDPOINT_URL_SNS: sns.url }),
        ...extensionEnv(ssm),
        [`${ALMA_ENV.webhookSecret}_PARAM`]: PARAM,
        [ALMA_ENV.webhookSecret]: undefined,
        [ALMA_ENV.webhookSecretRotationWindowHours]: undefined,
        TRIBUTARY_SECRETS_MAX_AGE_SECONDS: undefined,
        ...Object.fromEntries(ALMA_EVENTS.map((e) => [topicArnEnv(e), `arn:aws:sns:eu-west-2:000000000000:alma-${e}`])),
      });
      clock = movableClock();
      // A cold start here (whatever loaded the entry before), then every delivery below reaches the same warm container.
      const entry = require.resolve("../../handlers/alma/functions/alma-webhook");
      delete require.cache[entry];
      ({ handler } = require(entry));
    });
    after(async () => {
      clock.restore();
      restoreEnv();
      await Promise.all([ssm.close(), sns.close()]);
    });

    it("answers 200 to the next delivery signed with the new key, with one more GetParameter; the old key works during the window, not after", async () => {
      assert.equal(await status("old-key"), 200);
      assert.deepEqual(ssm.gets, [PARAM], "read once, at the first delivery");

      assert.equal(ssm.put(PARAM, "new-key"), 2);
      assert.equal(await status("new-key"), 200, "signed with the new key");
      assert.deepEqual(ssm.gets, [PARAM, PARAM], "exactly one more read");

      assert.equal(await status("old-key"), 200, "the previous key, during the window");
      assert.equal(await status("old-key"), 200);
      assert.deepEqual(ssm.gets, [PARAM, PARAM, `${PARAM}:1`], "the previous version read once");
      assert.equal(sns.published.length, 4);

      // A storm of bad signatures, one after another and all at once: no read within the refresh interval, then one per interval.
      const storm = async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 25; i++) statuses.push(await status(`attacker-${i}`));
        return [...statuses, ...(await Promise.all([...Array(25)].map((_, i) => status(`attacker-at-once-${i}`))))];
      };
      assert.deepEqual(new Set(await storm()), new Set([401]));
      assert.equal(ssm.gets.length, 3, "the last forced read was less than the refresh interval ago");
      clock.advance(MIN_REFRESH_INTERVAL_MS);
      assert.deepEqual(new Set(await storm()), new Set([401]));
      assert.equal(ssm.gets.length, 4, "one forced read for 50 bad signatures");
      assert.deepEqual(new Set(await storm()), new Set([401]));
      assert.equal(ssm.gets.length, 4);
      assert.equal(sns.published.length, 4, "nothing published for a bad signature");

      clock.advance(24 * HOUR_MS);
      assert.equal(await status("old-key"), 401, "the window is over");
      assert.equal(await status("new-key"), 200);
    });
  });

  describe("lessons: Auth0 refuses the old client secret", () => {
    const PARAM = "/tributary/lessons-auth0-secret";
    const LESSON_PATH = "/v5/learning-paths/certification-progresses/complete-lesson-via-mongo-trigger";
    const AUDIENCE = "https://m2m.topcoder-dev.com/";
    let ssm: FakeSsm;
    let restoreEnv: () => void;

    before(async () => {
      ssm = await startFakeSsm({ parameters: { [PARAM]: "secret-1" } });
      restoreEnv = setEnv({ ...localAwsEnv({}), ...extensionEnv(ssm) });
    });
    after(async () => {
      restoreEnv();
      await ssm.close();
    });

    it("gets the next token with the new secret, in the same container", async () => {
      const clients: Record<string, string> = { "m2m-client": "secret-1" };
      let issued = 0;
      const auth0 = auth0TokenRoute({ clients, audiences: [AUDIENCE], token: () => `token-${++issued}` });
      /** Tokens the API accepts: a rotation revokes those issued before it. */
      const valid = new Set<string>();
      const tokenRequests: { secret: unknown; status: number }[] = [];
      const server = await startStub((req: RecordedRequest): StubResponse => {
        if (req.path === "/oauth/token") {
          const answer = auth0(req);
          tokenRequests.push({ secret: JSON.parse(req.body).client_secret, status: answer.status ?? 200 });
          if (!answer.status) valid.add((answer.body as { access_token: string }).access_token);
          return answer;
        }
        const token = String(req.headers.authorization).replace(/^Bearer /, "");
        return valid.has(token) ? { status: 200 } : { status: 401 };
      });
      try {
        const env = {
          ...process.env,
          [LESSONS_ENV.auth0Url]: `${server.url}/oauth/token`,
          [LESSONS_ENV.auth0Audience]: AUDIENCE,
          [LESSONS_ENV.auth0ClientId]: "m2m-client",
          [`${LESSONS_ENV.auth0ClientSecret}_PARAM`]: PARAM,
          [LESSONS_ENV.learningPathsApiEndpoint]: `${server.url}${LESSON_PATH}`,
        };
        const handler = createHandler({ ...lessonsConfigFromEnv(env), retry: FAST_RETRY });
        const event = JSON.parse(fs.readFileSync(payloadPath("atlas-trigger", "user_update_event.json"), "utf8"));
        const first = await handler(event);
        assert.equal(first.completed, first.lessons);
        assert.deepEqual(tokenRequests, [{ secret: "secret-1", status: 200 }]);

        // The secret is rotated in Auth0 (the old one stops working, with the tokens it got) and in SSM.
        clients["m2m-client"] = "secret-2";
        valid.clear();
        ssm.put(PARAM, "secret-2");

        const second = await handler(event);
        assert.equal(second.completed, second.lessons);
        assert.deepEqual(tokenRequests.slice(1), [
          { secret: "secret-1", status: 401 },
          { secret: "secret-2", status: 200 },
        ]);
        assert.deepEqual(ssm.gets, [PARAM, PARAM], "read at the first token, and again after Auth0's 401");
      } finally {
        await server.close();
      }
    });

    it("asks once more only when the secret read again differs", async () => {
      const server = await startStub(auth0TokenRoute({ clients: { c: "right" }, audiences: [AUDIENCE] }));
      try {
        let refreshes = 0;
        const token = new ClientCredentialsToken({
          tokenUrl: `${server.url}/oauth/token`,
          clientId: "c",
          audience: AUDIENCE,
          clientSecret: async () => "wrong",
          refreshClientSecret: async () => (refreshes++, "wrong"),
          retry: FAST_RETRY,
        });
        await assert.rejects(token.get(), (err: unknown) => err instanceof HttpError && err.status === 401);
        assert.equal(refreshes, 1);
        assert.equal(server.requests.length, 1, "the same secret is not sent again");
      } finally {
        await server.close();
      }
    });
  });

  describe("skills: the BRN database password is changed", () => {
    let local: LocalApp;
    let restoreEnv: () => void;
    let ssm: SSMClient;
    const user = `tributary_rot_${process.pid}`;
    const admin = () => createConnection({ uri: MYSQL_URL, connectTimeout: 5_000 });
    let brnUrl: URL;

    before(async () => {
      local = await LOCAL_APPS.skills({ quiet: true });
      restoreEnv = setEnv(local.env);
      ssm = new SSMClient(localClientConfig(local.env.AWS_ENDPOINT_URL_SSM));
      brnUrl = new URL(
        await new SecretReader({ env: local.env, fetch: ssmFetcher(localClientConfig(local.env.AWS_ENDPOINT_URL_SSM)) }).get(
          "BRN_DATABASE_URL",
        ),
      );
      const database = brnUrl.pathname.slice(1);
      const root = await admin();
      try {
        await root.query(`DROP USER IF EXISTS '${user}'@'%'`);
        await root.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'password-1'`);
        await root.query(`GRANT ALL ON \`${database}\`.* TO '${user}'@'%'`);
      } finally {
        await root.end();
      }
    });
    after(async () => {
      restoreEnv();
      const root = await admin();
      await root.query(`DROP USER IF EXISTS '${user}'@'%'`).finally(() => root.end());
      await local.close();
    });

    const urlWith = (password: string) => {
      const url = new URL(brnUrl);
      url.username = user;
      url.password = password;
      return url.toString();
    };
    const putUrl = (password: string) =>
      ssm.send(
        new PutParameterCommand({
          Name: localParameterName("BRN_DATABASE_URL"),
          Value: urlWith(password),
          Type: "SecureString",
          Overwrite: true,
        }),
      );

    it("connects at the next sync of the same container with the URL read again", async () => {
      await putUrl("password-1");
      const config = skillsConfigFromEnv(process.env);
      const first = await runSync({ ...config, retry: FAST_RETRY });
      assert.equal(first.assessments.created, 1);

      const root = await admin();
      try {
        await root.query(`ALTER USER '${user}'@'%' IDENTIFIED BY 'password-2'`);
        // The sessions opened with the old password end too (as a server restart or wait_timeout ends them).
        const [sessions] = await root.query<any[]>("SELECT id FROM information_schema.processlist WHERE user = ?", [user]);
        for (const { id } of sessions) await root.query(`KILL CONNECTION ${Number(id)}`);
      } finally {
        await root.end();
      }
      await putUrl("password-2");
      await new Promise((resolve) => setTimeout(resolve, 200));

      const second = await runSync({ ...config, retry: FAST_RETRY });
      assert.equal(second.assessments.unchanged, 1);
      assert.equal(second.badges.unchanged, 1);
      assert.equal(second.assertions.unchanged, 1);
    });

    it("builds a pool for a new URL, and ends the one it replaced after the run", async () => {
      const urls = ["mysql://a@127.0.0.1:1/x"];
      let refreshed = 0;
      const pools = new BrnPools(
        async () => urls.at(-1)!,
        async () => (refreshed++, urls.at(-1)!),
      );
      const first = await pools.pool();
      assert.equal(await pools.pool(), first, "the same URL keeps its pool");
      assert.equal(await pools.renew(first), false, "the URL read again is the same");
      urls.push("mysql://b@127.0.0.1:1/x");
      assert.equal(await pools.renew(first), true);
      const second = await pools.pool();
      assert.notEqual(second, first);
      assert.equal(await pools.renew(first), true, "a newer pool exists already");
      assert.equal(refreshed, 2);
      await pools.endReplaced();
      await assert.rejects((first as Pool).query("SELECT 1"), /Pool is closed/);
      await second.end();
    });

    it("asks Airtable once more with a token read again after a 401", async () => {
      let accepted = "airtable-1";
      const seen: string[] = [];
      const airtable = await startStub((req) => {
        seen.push(String(req.headers.authorization));
        return req.headers.authorization === `Bearer ${accepted}`
          ? { body: { records: [] } }
          : { status: 401, body: { error: "AUTHENTICATION_REQUIRED" } };
      });
      try {
        const parameter = localParameterName("AIRTABLE_TOKEN");
        await ssm.send(new PutParameterCommand({ Name: parameter, Value: "airtable-1", Overwrite: true }));
        await ssm.send(
          new PutParameterCommand({ Name: localParameterName("BRN_DATABASE_URL"), Value: brnUrl.toString(), Overwrite: true }),
        );
        const config = skillsConfigFromEnv(process.env);
        const run = () => runSync({ ...config, airtable: { ...config.airtable, apiUrl: airtable.url }, retry: FAST_RETRY });
        await run();
        accepted = "airtable-2";
        await ssm.send(new PutParameterCommand({ Name: parameter, Value: "airtable-2", Overwrite: true }));
        await run();
        assert.deepEqual(seen, ["Bearer airtable-1", "Bearer airtable-1", "Bearer airtable-2"]);
      } finally {
        await airtable.close();
      }
    });
    it("asks Badgr for a token once more with a password read again after its invalid_grant", async () => {
      let accepted = "badgr-1";
      const passwords: string[] = [];
      const badgr = await startStub((req) => {
        if (req.path === "/o/token/") {
          const password = new URLSearchParams(req.body).get("password")!;
          passwords.push(password);
          return password === accepted
            ? { body: { access_token: "t" } }
            : { status: 400, body: { error: "invalid_grant", error_description: "Invalid credentials given." } };
        }
        return { body: { result: [] } };
      });
      try {
        const parameter = localParameterName("BADGR_PASSWORD");
        await ssm.send(new PutParameterCommand({ Name: parameter, Value: "badgr-1", Overwrite: true }));
        await ssm.send(
          new PutParameterCommand({ Name: localParameterName("BRN_DATABASE_URL"), Value: brnUrl.toString(), Overwrite: true }),
        );
        const config = skillsConfigFromEnv(process.env);
        const run = () => runSync({ ...config, badgr: { ...config.badgr, baseUrl: badgr.url }, retry: FAST_RETRY });
        await run();
        accepted = "badgr-2";
        await ssm.send(new PutParameterCommand({ Name: parameter, Value: "badgr-2", Overwrite: true }));
        await run();
        assert.deepEqual(passwords, ["badgr-1", "badgr-1", "badgr-2"]);
      } finally {
        await badgr.close();
      }
    });
  });

  describe("iota: MongoDB refuses the old password (a fake client factory)", () => {
    const PARAM = "/tributary/iota-mongo-uri";
    let ssm: FakeSsm;
    let now: number;
    let server: { password: string };
    let store: MemoryStore;
    let connects: string[];
    let closed: string[];
    const authFailed = () =>
      new MongoServerError({
        message: "Authentication failed.",
        errmsg: "Authentication failed.",
        code: 18,
        codeName: "AuthenticationFailed",
      });
    const uriWith = (password: string) => `mongodb://records:${password}@db.example:27017/iota?replicaSet=rs0`;

    /** A client for `uri`: refused, as MongoDB refuses it, whenever its password is not the server's. */
    const connect = async (uri: string) => {
      const password = new URL(uri).password;
      if (password !== server.password) throw authFailed();
      connects.push(password);
      const refusing = new Proxy(store, {
        get(target, key) {
          const value = Reflect.get(target, key);
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => (password === server.password ? value.apply(target, args) : Promise.reject(authFailed()));
        },
      });
      return {
        engine: new Iota({
          serviceId: "records",
          eventBusName: "bus",
          store: refusing,
          putEvents: async (entries) => ({ FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) }),
        }),
        close: async () => void closed.push(password),
      };
    };
    const command = (id: string) => ({
      specversion: "1.0",
      id,
      source: "tests",
      type: "cmd.record.create.v0",
      datacontenttype: "application/json",
      data: JSON.stringify({ companyId: "c1", name: id }),
    });

    let connection: IotaConnection;
    beforeEach(async () => {
      ssm = await startFakeSsm({ parameters: { [PARAM]: uriWith("pw-1") } });
      now = 1_000_000;
      server = { password: "pw-1" };
      store = new MemoryStore();
      connects = [];
      closed = [];
      const secrets = new SecretReader({
        env: { [`${IOTA_ENV.mongoUri}_PARAM`]: PARAM },
        fetch: extensionFetcher(extensionEnv(ssm)),
        maxAgeMs: 300_000,
        now: () => now,
      });
      connection = new IotaConnection({
        uri: () => secrets.get(IOTA_ENV.mongoUri),
        refreshUri: () => secrets.refresh(IOTA_ENV.mongoUri),
        connect,
      });
    });
    afterEach(() => ssm.close());
    const apply = (id: string) => connection.run((engine) => engine.withIota(command(id), {}, { func: createRecord }));

    it("reads the URI again, makes a new client and applies the event once", async () => {
      await apply("evt-1");
      server.password = "pw-2";
      ssm.put(PARAM, uriWith("pw-2"));
      await apply("evt-2");
      assert.deepEqual(connects, ["pw-1", "pw-2"]);
      assert.deepEqual(closed, ["pw-1"], "the old client is closed");
      assert.deepEqual(ssm.gets, [PARAM, PARAM]);
      assert.equal(store.journal.size, 2);
      assert.equal(store.collection("records").size, 2);
    });

    it("fails with MongoDB's error when the URI read again is the same (SSM not updated yet), and works once it is", async () => {
      await apply("evt-1");
      server.password = "pw-2";
      await assert.rejects(apply("evt-2"), (err: unknown) => isMongoAuthError(err));
      ssm.put(PARAM, uriWith("pw-2"));
      now += MIN_REFRESH_INTERVAL_MS;
      await apply("evt-2");
      assert.deepEqual(connects, ["pw-1", "pw-2"]);
    });

    it("connects with the URI read again when the first connection is refused", async () => {
      server.password = "pw-2";
      const cold = new IotaConnection({
        uri: async () => uriWith("pw-1"),
        refreshUri: async () => uriWith("pw-2"),
        connect,
      });
      await cold.run((engine) => engine.withIota(command("evt-1"), {}, { func: createRecord }));
      assert.deepEqual(connects, ["pw-2"]);
    });

    it("picks a rotated URI up within maxAge, without a failure", async () => {
      await apply("evt-1");
      ssm.put(PARAM, uriWith("pw-2"));
      server.password = "pw-2";
      now += 300_000;
      await apply("evt-2");
      assert.deepEqual(connects, ["pw-1", "pw-2"]);
      assert.deepEqual(ssm.gets, [PARAM, PARAM], "read again for its age, not forced");
    });

    it("knows MongoDB's authentication errors: AuthenticationFailed, Atlas's bad auth, and errors they caused", () => {
      assert.equal(isMongoAuthError(authFailed()), true);
      assert.equal(
        isMongoAuthError(new MongoServerError({ message: "bad auth : authentication failed", code: 8000, codeName: "AtlasError" })),
        true,
      );
      assert.equal(isMongoAuthError(new Error("wrapped", { cause: authFailed() })), true);
      assert.equal(isMongoAuthError(new MongoServerError({ message: "E11000 duplicate key", code: 11000 })), false);
      assert.equal(isMongoAuthError(new Error("Authentication failed.")), false);
    });
  });
});
