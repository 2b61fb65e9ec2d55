import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { IMPROVEMENTS } from "../../components/adoption";
import { MANAGEMENT_API_SCOPES } from "../../components/auth0/m2m-client";
import { APP_IMPROVEMENTS, SECRETS, STAGE_DEFAULTS } from "../../config";
import { REPO_ROOT } from "../../tooling/mock-engine";

const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
const cutover = fs.readFileSync(path.join(REPO_ROOT, "docs", "cutover.md"), "utf8");
const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));

describe("README matches the code", () => {
  it("offers the two fresh-clone commands, and they exist", () => {
    assert.ok(readme.includes("npm ci && npm run preview -- --stack dev"));
    assert.ok(readme.includes("npm ci && npm test"));
    for (const script of ["preview", "invoke", "test"]) assert.ok(pkg.scripts[script], `npm script ${script}`);
  });

  it("lists every declared secret with its set command form", () => {
    for (const { key } of SECRETS) assert.ok(readme.includes(`\`${key}\``), `README lists ${key}`);
  });

  it("shows the stage defaults as config.ts has them", () => {
    const retention = `| log retention (days) | ${STAGE_DEFAULTS.dev.logRetentionDays} | ${STAGE_DEFAULTS.staging.logRetentionDays} | ${STAGE_DEFAULTS.prod.logRetentionDays} |`;
    assert.ok(readme.includes(retention), retention);
    const errors = `| Lambda errors alarm threshold (per period) | ${STAGE_DEFAULTS.dev.alarms.lambdaErrorsThreshold} | ${STAGE_DEFAULTS.staging.alarms.lambdaErrorsThreshold} | ${STAGE_DEFAULTS.prod.alarms.lambdaErrorsThreshold} |`;
    assert.ok(readme.includes(errors), errors);
    const { dev, staging, prod } = STAGE_DEFAULTS;
    const backlog = `| work queue backlog alarm threshold (visible messages for 15 minutes) | ${dev.alarms.queueBacklogThreshold} | ${staging.alarms.queueBacklogThreshold} | ${prod.alarms.queueBacklogThreshold} |`;
    assert.ok(readme.includes(backlog), backlog);
    const api = `| HTTP API 5xx alarm threshold (per period) | ${dev.alarms.apiServerErrorsThreshold} | ${staging.alarms.apiServerErrorsThreshold} | ${prod.alarms.apiServerErrorsThreshold} |`;
    assert.ok(readme.includes(api), api);
  });

  it("lists every improvement in docs/cutover.md with the apps that offer it", () => {
    for (const improvement of Object.keys(IMPROVEMENTS)) {
      const apps = Object.entries(APP_IMPROVEMENTS)
        .filter(([, list]) => (list as readonly string[]).includes(improvement))
        .map(([app]) => app)
        .sort();
      assert.ok(cutover.includes(`| \`${improvement}\` | ${apps.join(", ")} |`), `${improvement}: ${apps.join(", ")}`);
    }
  });

  it("names the Management API scopes the Auth0 provider needs, as the component declares them", () => {
    const listed = MANAGEMENT_API_SCOPES.map((scope) => `\`${scope}\``);
    for (const text of [readme, cutover]) for (const scope of listed) assert.ok(text.includes(scope), scope);
  });

  it("is what .ci/run runs", () => {
    const ci = fs.readFileSync(path.join(REPO_ROOT, ".ci", "run"), "utf8");
    assert.match(ci, /npm ci/);
    assert.match(ci, /npm test/);
  });
});
