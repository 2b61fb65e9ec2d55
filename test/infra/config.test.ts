import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import {
  APPS,
  auth0Problems,
  ConfigError,
  loadConfig,
  parseConfigValues,
  requiredSecrets,
  resolveStageSettings,
  SECRETS,
  secretSetCommand,
  secretsInClear,
  STAGE_DEFAULTS,
  type TributaryConfig,
} from "../../config";
import { knownStacks, loadStackConfig, runProgram } from "../../tooling/mock-engine";
import { STAGES } from "../../components/platform";
import { REPO_ROOT, stackSettingsFile } from "../../paths";

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err;
  }
  assert.fail("expected a ConfigError");
}

const minimalAlma = JSON.stringify({});

/** The ConfigError that loadConfig throws for a stack's config, as the program sees it under the mock engine. */
async function loadConfigError(options: Parameters<typeof runProgram>[1]): Promise<ConfigError> {
  let caught: unknown;
  await runProgram(() => {
    try {
      loadConfig();
    } catch (err) {
      caught = err;
    }
  }, options);
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught}`);
  return caught;
}

describe("stack config", () => {
  describe("validation", () => {
    it("rejects a negative log retention, naming the key, the stack and the fix", () => {
      const err = configError(() => parseConfigValues("dev", { logRetentionDays: "-1" }));
      assert.match(err.message, /Invalid configuration for stack "dev"/);
      assert.match(err.message, /tributary:logRetentionDays: must be one of 1, 3, 5, 7, 14/);
      assert.match(err.message, /fix: pulumi config set tributary:logRetentionDays <value> --stack dev/);
      assert.deepEqual(
        err.problems.map((p) => p.key),
        ["tributary:logRetentionDays"],
      );
    });

    it("names the path inside an app block and offers `--path`", () => {
      const err = configError(() => parseConfigValues("staging", { alma: JSON.stringify({ usersQueueConsumerTimeoutSeconds: 0 }) }));
      assert.deepEqual(
        err.problems.map((p) => p.key),
        ["tributary:alma.usersQueueConsumerTimeoutSeconds"],
      );
      assert.match(err.message, /pulumi config set --path 'tributary:alma.usersQueueConsumerTimeoutSeconds' <value> --stack staging/);
    });

    it("reports every problem in one message", () => {
      const err = configError(() =>
        parseConfigValues("dev", {
          logRetentionDays: "13",
          hdoc: JSON.stringify({ auth: { domainPrefix: "Bad_Prefix", callbackUrls: [], logoutUrls: ["https://x.example"] } }),
        }),
      );
      assert.deepEqual(err.problems.map((p) => p.key).sort(), [
        "tributary:hdoc.auth.callbackUrls",
        "tributary:hdoc.auth.domainPrefix",
        "tributary:logRetentionDays",
      ]);
    });

    it("rejects an unknown nested key, saying to remove or rename it to the nearest known key", () => {
      const err = configError(() => parseConfigValues("dev", { alma: JSON.stringify({ functoin: { memoryMb: 512 } }) }));
      assert.deepEqual(
        err.problems.map((p) => p.key),
        ["tributary:alma.functoin"],
      );
      assert.match(err.problems[0].message, /unknown key; remove it, or rename it to the known key "function"/);
      assert.match(err.problems[0].fix, /pulumi config rm --path 'tributary:alma.functoin' --stack dev/);
      const deep = configError(() => parseConfigValues("dev", { hdoc: JSON.stringify({ auth: { domainPrefx: "x" } }) }));
      assert.ok(deep.problems.some((p) => p.key === "tributary:hdoc.auth.domainPrefx" && /"domainPrefix"/.test(p.message)));
    });

    it("rejects an unknown top-level key, so that a typo cannot silently drop an app", () => {
      const err = configError(() =>
        parseConfigValues("dev", { hdocs: JSON.stringify({}), alarm: JSON.stringify({ email: "a@b.example" }) }),
      );
      assert.deepEqual(err.problems.map((p) => p.key).sort(), ["tributary:alarm", "tributary:hdocs"]);
      assert.match(err.message, /tributary:hdocs: unknown key; remove it, or rename it to the known key "hdoc"/);
      assert.match(err.message, /tributary:alarm: unknown key; remove it, or rename it to the known key "alarms"/);
      assert.match(
        err.message,
        /fix: pulumi config rm tributary:hdocs --stack dev, then pulumi config set tributary:hdoc <value> --stack dev/,
      );
      // The app's secrets live in the namespace too: they are known keys, not typos.
      assert.doesNotThrow(() => parseConfigValues("dev", { almaWebhookSecret: "x" }));
    });

    it("renames a typo'd secret key with --secret, so that its value is not stored in clear", () => {
      const err = configError(() => parseConfigValues("dev", { almaWebhookSecrt: "x" }));
      assert.deepEqual(
        err.problems.map((p) => p.key),
        ["tributary:almaWebhookSecrt"],
      );
      assert.match(err.problems[0].message, /rename it to the known secret \(Alma webhook signing secret\) "almaWebhookSecret"/);
      assert.equal(
        err.problems[0].fix,
        "pulumi config rm tributary:almaWebhookSecrt --stack dev, then pulumi config set --secret tributary:almaWebhookSecret <value> --stack dev",
      );
      assert.ok(!err.message.includes('"x"'), "the message never repeats the value");
      // Every secret of the namespace, one letter off: its fix sets it with --secret.
      for (const { key } of SECRETS.filter((s) => s.key.startsWith("tributary:"))) {
        const name = key.slice("tributary:".length);
        const typo = configError(() => parseConfigValues("prod", { [name.slice(0, -1)]: "x" }));
        assert.match(typo.problems[0].fix, new RegExp(`, then pulumi config set --secret ${key} <value> --stack prod$`), name);
      }
      // A key that is not a secret is set as it was.
      const plain = configError(() => parseConfigValues("dev", { logRetentionDay: "14" }));
      assert.equal(
        plain.problems[0].fix,
        "pulumi config rm tributary:logRetentionDay --stack dev, then pulumi config set tributary:logRetentionDays <value> --stack dev",
      );
    });

    it("sets every secret it names in a fix with --secret, by its full key", async () => {
      const inClear = secretsInClear("dev", ["tributary:iotaMongoUri", "mongodbatlas:privateKey"], () => false);
      assert.deepEqual(
        inClear.map((p) => p.fix),
        [
          "pulumi config set --secret mongodbatlas:privateKey <value> --stack dev",
          "pulumi config set --secret tributary:iotaMongoUri <value> --stack dev",
        ],
      );
      const lessons = fs.readFileSync(path.join(REPO_ROOT, "test/fixtures/config/lessons.json"), "utf8");
      const missing = await loadConfigError({ stack: "dev", config: { "tributary:lessons": lessons, "auth0:domain": "tenant.auth0.com" } });
      assert.deepEqual(
        missing.problems.map((p) => p.fix),
        [
          "pulumi config set --secret mongodbatlas:publicKey <value> --stack dev",
          "pulumi config set --secret mongodbatlas:privateKey <value> --stack dev",
          "pulumi config set --secret auth0:clientSecret <value> --stack dev",
        ],
      );
      assert.equal(
        secretSetCommand("prod", "tributary:almaWebhookSecret"),
        "pulumi config set --secret tributary:almaWebhookSecret <value> --stack prod",
      );
    });

    it("needs the app of an adopted trigger and the pool of an adopted client", () => {
      const lessons = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "test/fixtures/config/lessons.json"), "utf8"));
      lessons.atlas.triggerId = "631fc2f7fc22d1c4d9c41750";
      const err = configError(() => parseConfigValues("dev", { lessons: JSON.stringify(lessons) }));
      assert.deepEqual(
        err.problems.map((p) => p.key),
        ["tributary:lessons.atlas.appId"],
      );
      const hdoc = { auth: { domainPrefix: "x", clientId: "abc" } };
      assert.deepEqual(
        configError(() => parseConfigValues("dev", { hdoc: JSON.stringify(hdoc) })).problems.map((p) => p.key),
        ["tributary:hdoc.auth.userPoolId"],
      );
    });

    it("needs the URLs of an app client the stack creates, and an adopted Auth0 client's grant", () => {
      const hdoc = { auth: { domainPrefix: "x" } };
      assert.deepEqual(
        configError(() => parseConfigValues("dev", { hdoc: JSON.stringify(hdoc) })).problems.map((p) => p.key),
        ["tributary:hdoc.auth.callbackUrls", "tributary:hdoc.auth.logoutUrls"],
      );
      const lessons = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "test/fixtures/config/lessons.json"), "utf8"));
      lessons.auth0.clientId = "AbCdEf0123456789AbCdEf0123456789";
      assert.deepEqual(
        configError(() => parseConfigValues("dev", { lessons: JSON.stringify(lessons) })).problems.map((p) => p.key),
        ["tributary:lessons.auth0.grantId"],
      );
    });

    it("rejects adoption ids of the wrong shape, naming them", () => {
      const err = configError(() =>
        parseConfigValues("dev", { alma: JSON.stringify({ usersQueueUrl: "lag-users", tableNames: { users: "a b" } }) }),
      );
      assert.deepEqual(err.problems.map((p) => p.key).sort(), ["tributary:alma.tableNames.users", "tributary:alma.usersQueueUrl"]);
    });

    it("rejects an unknown Alma event in topicArns", () => {
      const err = configError(() =>
        parseConfigValues("dev", { alma: JSON.stringify({ topicArns: { LOAN_LOST: "arn:aws:sns:eu-west-2:111111111111:x" } }) }),
      );
      assert.ok(
        err.problems.some((p) => p.key.startsWith("tributary:alma.topicArns")),
        err.message,
      );
    });

    it("needs appId and clusterServiceId together", () => {
      const lessons = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "test/fixtures/config/lessons.json"), "utf8"));
      lessons.atlas.appId = "64a0c0ffee0ddba11c0ffee3";
      const err = configError(() => parseConfigValues("dev", { lessons: JSON.stringify(lessons) }));
      assert.deepEqual(
        err.problems.map((p) => p.key),
        ["tributary:lessons.atlas.clusterServiceId"],
      );
    });

    it("needs a stage for a stack that is not dev, staging or prod", () => {
      const err = configError(() => parseConfigValues("alice", {}));
      assert.deepEqual(
        err.problems.map((p) => p.key),
        ["tributary:stage"],
      );
      assert.equal(parseConfigValues("alice", { stage: "dev" }).stage, "dev");
    });

    it("keeps an EventBridge target's retry bounds, up to a day", () => {
      assert.equal(
        parseConfigValues("dev", { lessons: fs.readFileSync(path.join(REPO_ROOT, "test/fixtures/config/lessons.json"), "utf8") }).lessons
          ?.delivery.maximumEventAgeSeconds,
        86400,
      );
    });

    it("refuses alma.delivery, which nothing reads since the cache functions read queues, and keeps alma's concurrency within SQS's 2 to 1000", () => {
      const err = configError(() => parseConfigValues("dev", { alma: JSON.stringify({ delivery: { maximumEventAgeSeconds: 3600 } }) }));
      assert.deepEqual(
        err.problems.map((p) => p.key),
        ["tributary:alma.delivery"],
      );
      assert.match(err.problems[0].message, /unknown key/);
      for (const maximumConcurrency of [1, 1001, 2.5]) {
        const bad = configError(() => parseConfigValues("dev", { alma: JSON.stringify({ maximumConcurrency }) }));
        assert.deepEqual(
          bad.problems.map((p) => p.key),
          ["tributary:alma.maximumConcurrency"],
          String(maximumConcurrency),
        );
      }
      assert.equal(parseConfigValues("dev", { alma: JSON.stringify({ maximumConcurrency: 2, paused: true }) }).alma?.maximumConcurrency, 2);
      const notBoolean = configError(() => parseConfigValues("dev", { alma: JSON.stringify({ paused: "yes" }) }));
      assert.deepEqual(
        notBoolean.problems.map((p) => p.key),
        ["tributary:alma.paused"],
      );
    });

    it("bounds how long a secret is used (10 s to an hour) and the webhook's rotation window (0 to 720 hours), with defaults of 5 minutes and a day", () => {
      const raw = parseConfigValues("dev", { alma: minimalAlma });
      assert.equal(raw.secretsMaxAgeSeconds, 300);
      assert.equal(raw.alma?.webhookSecretRotationWindowHours, 24);
      for (const value of ["0", "9", "3601", "60.5"]) {
        assert.deepEqual(
          configError(() => parseConfigValues("dev", { secretsMaxAgeSeconds: value })).problems.map((p) => p.key),
          ["tributary:secretsMaxAgeSeconds"],
          value,
        );
      }
      for (const hours of [-1, 721, 1.5]) {
        const err = configError(() => parseConfigValues("dev", { alma: JSON.stringify({ webhookSecretRotationWindowHours: hours }) }));
        assert.deepEqual(
          err.problems.map((p) => p.key),
          ["tributary:alma.webhookSecretRotationWindowHours"],
          String(hours),
        );
      }
      assert.equal(
        parseConfigValues("dev", { alma: JSON.stringify({ webhookSecretRotationWindowHours: 0 }) }).alma?.webhookSecretRotationWindowHours,
        0,
      );
    });

    it("fills an app block's defaults", () => {
      const raw = parseConfigValues("dev", { alma: minimalAlma });
      assert.deepEqual(raw.alma?.topicArns, {});
      assert.equal(raw.alma?.function.memoryMb, 256);
      assert.equal(raw.alma?.paused, false, "the cache functions read their queues");
      assert.equal(raw.alma?.maximumConcurrency, 5);
      assert.equal(raw.lessons, undefined);
    });
  });

  describe("stage defaults", () => {
    it("keeps per-stage defaults in one table", () => {
      assert.equal(resolveStageSettings("prod", parseConfigValues("prod", {})).pointInTimeRecovery, true);
      assert.equal(resolveStageSettings("dev", parseConfigValues("dev", {})).pointInTimeRecovery, false);
      assert.deepEqual(resolveStageSettings("staging", parseConfigValues("staging", {})), STAGE_DEFAULTS.staging);
    });

    it("lets the stack override a default", () => {
      const settings = resolveStageSettings(
        "dev",
        parseConfigValues("dev", { logRetentionDays: "30", alarms: '{"lambdaErrorsThreshold":2}' }),
      );
      assert.equal(settings.logRetentionDays, 30);
      assert.equal(settings.alarms.lambdaErrorsThreshold, 2);
      assert.equal(settings.alarms.periodSeconds, STAGE_DEFAULTS.dev.alarms.periodSeconds);
      const alarms = resolveStageSettings(
        "prod",
        parseConfigValues("prod", { alarms: '{"queueBacklogThreshold":5000,"apiServerErrorsThreshold":10}' }),
      ).alarms;
      assert.deepEqual(alarms, { ...STAGE_DEFAULTS.prod.alarms, queueBacklogThreshold: 5000, apiServerErrorsThreshold: 10 });
    });

    it("takes the runbook's address for the alarms as an https URL only", () => {
      const err = configError(() => parseConfigValues("dev", { alarms: '{"runbookUrl":"docs/runbook.md"}' }));
      assert.deepEqual(
        err.problems.map((p) => p.key),
        ["tributary:alarms.runbookUrl"],
      );
      assert.equal(
        parseConfigValues("dev", { alarms: '{"runbookUrl":"https://example.com/runbook.md"}' }).alarms.runbookUrl,
        "https://example.com/runbook.md",
      );
    });
  });

  describe("secrets", () => {
    it("needs only the secrets of enabled apps", () => {
      assert.deepEqual(requiredSecrets(parseConfigValues("dev", {})), []);
      assert.deepEqual(
        requiredSecrets(parseConfigValues("dev", { alma: minimalAlma })).map((s) => s.key),
        ["tributary:almaWebhookSecret"],
      );
    });

    it("refuses a secret written in clear, with the --secret command to run instead", async () => {
      const caught = await loadConfigError({
        stack: "staging",
        config: { "tributary:alma": minimalAlma, "tributary:almaWebhookSecret": "in-clear" },
      });
      assert.deepEqual(
        caught.problems.map((p) => p.key),
        ["tributary:almaWebhookSecret"],
      );
      assert.match(caught.message, /is a secret \(Alma webhook signing secret\) but is written in clear/);
      assert.match(caught.message, /fix: pulumi config set --secret tributary:almaWebhookSecret <value> --stack staging/);
      assert.ok(!caught.message.includes("in-clear"), "the message never repeats the secret");
    });

    it("accepts the same secret when it arrives encrypted or from an ESC environment (a secret key)", async () => {
      await runProgram(() => loadConfig(), {
        stack: "staging",
        config: { "tributary:alma": minimalAlma, "tributary:almaWebhookSecret": "x" },
        secretKeys: ["tributary:almaWebhookSecret"],
      });
    });

    it("needs auth0:audience when auth0:domain is a custom domain", () => {
      const raw = parseConfigValues("prod", {
        lessons: fs.readFileSync(path.join(REPO_ROOT, "test/fixtures/config/lessons.json"), "utf8"),
      });
      const [problem] = auth0Problems("prod", raw, { domain: "auth.topcoder.com" });
      assert.equal(problem.key, "auth0:audience");
      assert.match(problem.message, /custom domain/);
      assert.equal(problem.fix, "pulumi config set auth0:audience <value> --stack prod");
      assert.deepEqual(auth0Problems("prod", raw, { domain: "auth.topcoder.com", audience: "https://topcoder.auth0.com/api/v2/" }), []);
      assert.deepEqual(auth0Problems("prod", raw, { domain: "topcoder-dev.auth0.com" }), []);
      assert.equal(auth0Problems("prod", raw, {})[0].key, "auth0:domain");
      assert.deepEqual(auth0Problems("prod", parseConfigValues("prod", {}), {}), [], "only the lessons app uses Auth0");
    });

    it("fails on a missing secret with the --secret command for that stack", async () => {
      const caught = await loadConfigError({ stack: "dev", config: { "tributary:alma": minimalAlma } });
      assert.match(caught.message, /tributary:almaWebhookSecret: missing secret \(Alma webhook signing secret\), needed by the alma app/);
      assert.match(caught.message, /fix: pulumi config set --secret tributary:almaWebhookSecret <value> --stack dev/);
    });

    it("reads secrets as secret Outputs", async () => {
      let loaded: TributaryConfig | undefined;
      await runProgram(
        () => {
          loaded = loadConfig();
        },
        {
          stack: "dev",
          config: { "tributary:alma": minimalAlma, "tributary:almaWebhookSecret": "s3cret" },
          secretKeys: ["tributary:almaWebhookSecret"],
        },
      );
      const secret = loaded?.secrets["tributary:almaWebhookSecret"];
      assert.ok(secret);
      assert.equal(await pulumi.isSecret(secret), true);
    });
  });

  describe("stack files", () => {
    for (const stack of STAGES) {
      it(`${stack} enables all five apps with valid settings`, () => {
        const { config } = loadStackConfig(stack);
        const values = Object.fromEntries(
          Object.entries(config)
            .filter(([k]) => k.startsWith("tributary:"))
            .map(([k, v]) => [k.slice("tributary:".length), v]),
        );
        const raw = parseConfigValues(stack, values);
        for (const app of APPS) assert.ok(raw[app], `${app} is enabled in Pulumi.${stack}.yaml`);
      });

      it(`${stack} holds no secret in clear`, () => {
        const settings = parseYaml(fs.readFileSync(stackSettingsFile(stack), "utf8"));
        for (const { key } of SECRETS) {
          const value = settings.config?.[key];
          assert.ok(value === undefined || (typeof value === "object" && "secure" in value), `${key} must only be set with --secret`);
        }
      });
    }

    it("exist for exactly dev, staging and prod", () => {
      assert.deepEqual(knownStacks(), ["dev", "prod", "staging"]);
    });
  });
});
