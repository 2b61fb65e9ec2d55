import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import {
  APPS,
  ConfigError,
  loadConfig,
  parseConfigValues,
  requiredSecrets,
  resolveStageSettings,
  SECRETS,
  STAGE_DEFAULTS,
  type TributaryConfig,
} from "../../config";
import { knownStacks, loadStackConfig, REPO_ROOT, runProgram } from "../helpers/mock-engine";

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

describe("stack config", () => {
  describe("validation", () => {
    it("rejects a negative log retention, naming the key, the stack and the fix", () => {
      const err = configError(() => parseConfigValues("dev", { logRetentionDays: "-1" }));
      assert.match(err.message, /Invalid configuration for stack "dev"/);
      assert.match(err.message, /tributary:logRetentionDays: must be one of 1, 3, 5, 7, 14/);
      assert.match(err.message, /fix: pulumi config set tributary:logRetentionDays <value> --stack dev/);
      assert.deepEqual(err.problems.map((p) => p.key), ["tributary:logRetentionDays"]);
    });

    it("names the path inside an app block and offers `--path`", () => {
      const err = configError(() => parseConfigValues("staging", { alma: JSON.stringify({ usersQueueConsumerTimeoutSeconds: 0 }) }));
      assert.deepEqual(err.problems.map((p) => p.key), ["tributary:alma.usersQueueConsumerTimeoutSeconds"]);
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

    it("rejects unknown keys, so that a typo is not silently ignored", () => {
      const err = configError(() => parseConfigValues("dev", { alma: JSON.stringify({ userTTLDays: 3 }) }));
      assert.equal(err.problems[0].key, "tributary:alma");
      assert.match(err.problems[0].message, /userTTLDays/);
    });

    it("rejects an unknown Alma event in topicArns", () => {
      const err = configError(() =>
        parseConfigValues("dev", { alma: JSON.stringify({ topicArns: { LOAN_LOST: "arn:aws:sns:eu-west-2:111111111111:x" } }) }),
      );
      assert.match(err.problems[0].key, /^tributary:alma\.topicArns/);
    });

    it("needs appId and clusterServiceId together", () => {
      const lessons = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "test/fixtures/config/lessons.json"), "utf8"));
      lessons.atlas.appId = "64a0c0ffee0ddba11c0ffee3";
      const err = configError(() => parseConfigValues("dev", { lessons: JSON.stringify(lessons) }));
      assert.deepEqual(err.problems.map((p) => p.key), ["tributary:lessons.atlas.clusterServiceId"]);
    });

    it("needs a stage for a stack that is not dev, staging or prod", () => {
      const err = configError(() => parseConfigValues("alice", {}));
      assert.deepEqual(err.problems.map((p) => p.key), ["tributary:stage"]);
      assert.equal(parseConfigValues("alice", { stage: "dev" }).stage, "dev");
    });

    it("keeps Lambda's own retry bounds for functions it retries itself", () => {
      const err = configError(() => parseConfigValues("dev", { alma: JSON.stringify({ delivery: { maximumEventAgeSeconds: 86400 } }) }));
      assert.deepEqual(err.problems.map((p) => p.key), ["tributary:alma.delivery.maximumEventAgeSeconds"]);
      assert.equal(parseConfigValues("dev", { lessons: fs.readFileSync(path.join(REPO_ROOT, "test/fixtures/config/lessons.json"), "utf8") }).lessons?.delivery.maximumEventAgeSeconds, 86400);
    });

    it("fills an app block's defaults", () => {
      const raw = parseConfigValues("dev", { alma: minimalAlma });
      assert.deepEqual(raw.alma?.topicArns, {});
      assert.equal(raw.alma?.function.memoryMb, 256);
      assert.equal(raw.alma?.delivery.maximumRetryAttempts, 2);
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
      const settings = resolveStageSettings("dev", parseConfigValues("dev", { logRetentionDays: "30", alarms: '{"lambdaErrorsThreshold":2}' }));
      assert.equal(settings.logRetentionDays, 30);
      assert.equal(settings.alarms.lambdaErrorsThreshold, 2);
      assert.equal(settings.alarms.periodSeconds, STAGE_DEFAULTS.dev.alarms.periodSeconds);
    });
  });

  describe("secrets", () => {
    it("needs only the secrets of enabled apps", () => {
      assert.deepEqual(requiredSecrets(parseConfigValues("dev", {})), []);
      assert.deepEqual(requiredSecrets(parseConfigValues("dev", { alma: minimalAlma })).map((s) => s.key), ["tributary:almaWebhookSecret"]);
    });

    it("does not need the webhook secret when every Alma topic already exists", () => {
      const topicArns = Object.fromEntries(
        ["LOAN_CREATED", "LOAN_RENEWED", "LOAN_DUE_DATE", "LOAN_RETURNED", "REQUEST_CREATED", "REQUEST_PLACED_ON_SHELF", "REQUEST_CLOSED", "REQUEST_CANCELED"].map(
          (e) => [e, `arn:aws:sns:eu-west-2:111111111111:${e}`],
        ),
      );
      assert.deepEqual(requiredSecrets(parseConfigValues("prod", { alma: JSON.stringify({ topicArns }) })), []);
    });

    it("fails on a missing secret with the --secret command for that stack", async () => {
      let caught: unknown;
      await runProgram(() => {
        try {
          loadConfig();
        } catch (err) {
          caught = err;
        }
      }, { stack: "dev", config: { "tributary:alma": minimalAlma } });
      assert.ok(caught instanceof ConfigError);
      assert.match(caught.message, /tributary:almaWebhookSecret: missing secret \(Alma webhook signing secret\), needed by the alma app/);
      assert.match(caught.message, /fix: pulumi config set --secret almaWebhookSecret <value> --stack dev/);
    });

    it("reads secrets as secret Outputs", async () => {
      let loaded: TributaryConfig | undefined;
      await runProgram(() => {
        loaded = loadConfig();
      }, { stack: "dev", config: { "tributary:alma": minimalAlma, "tributary:almaWebhookSecret": "s3cret" }, secretKeys: ["tributary:almaWebhookSecret"] });
      const secret = loaded?.secrets["tributary:almaWebhookSecret"];
      assert.ok(secret);
      assert.equal(await pulumi.isSecret(secret), true);
    });
  });

  describe("stack files", () => {
    for (const stack of ["dev", "staging", "prod"]) {
      it(`${stack} enables all five apps with valid settings`, () => {
        const { config } = loadStackConfig(stack);
        const values = Object.fromEntries(
          Object.entries(config).filter(([k]) => k.startsWith("tributary:")).map(([k, v]) => [k.slice("tributary:".length), v]),
        );
        const raw = parseConfigValues(stack, values);
        for (const app of APPS) assert.ok(raw[app], `${app} is enabled in Pulumi.${stack}.yaml`);
      });

      it(`${stack} holds no secret in clear`, () => {
        const settings = parseYaml(fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8"));
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
