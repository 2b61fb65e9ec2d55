/**
 * Local stand-ins for an app's functions, so that `npm run invoke` runs them without AWS or
 * the upstream APIs:
 *
 *   npm run local -- <alma|lessons|hdoc|skills>
 *
 * It starts the servers the app's functions talk to on 127.0.0.1 (dynalite, s3rver, and
 * small stand-ins for SQS, SNS, SSM, Auth0, the Learning Paths API, Airtable, Badgr and
 * GitHub; the app's secrets are in the SSM stand-in, as a deployed function finds them),
 * writes the environment that points the functions at them to `.build/local/<app>.env`, logs
 * every request the stand-ins receive to stderr, and runs until it is stopped (Ctrl-C).
 * In another terminal: `source .build/local/<app>.env`, then `npm run invoke -- ...`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ALMA_TABLES, TOMBSTONES_TABLE } from "../apps/alma/tables";
import {
  ALMA_ENV,
  ALMA_EVENTS,
  HDOC_ENV,
  LESSONS_ENV,
  SECRETS_EXTENSION_ENV,
  SKILLS_ENV,
  secretParamEnv,
  topicArnEnv,
} from "../handlers/lib/env-names";
import { auth0TokenRoute } from "../tooling/local/auth0";
import { localAwsEnv } from "../tooling/local/aws";
import { startDynalite } from "../tooling/local/dynamo";
import { startFakeSns } from "../tooling/local/fake-sns";
import { startFakeSqs } from "../tooling/local/fake-sqs";
import { type FakeSsm, startFakeSsm } from "../tooling/local/fake-ssm";
import { type RecordedRequest, type StubResponse, startStub } from "../tooling/local/http-stub";
import { commitShaAnswer, zipball } from "../tooling/local/zip";
import { defineCommand, parseCommandLine, usageError } from "./lib/cli";
import { LOCAL_APP_NAMES, type LocalAppName, localEnvFile } from "./lib/local-apps";
import { runMain } from "./lib/main";
import { REPO_ROOT } from "../paths";

/** The key the webhook fixtures are signed with (test/fixtures/payloads/README.md). */
export const FIXTURE_WEBHOOK_SECRET = "secretkey";

export interface LocalApp {
  /** The environment that points the app's functions at the stand-ins. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** How the stand-ins report what they receive: on stderr, unless quiet (the bench). */
export interface LocalOptions {
  quiet?: boolean;
}

const logger = (options: LocalOptions) => (server: string) =>
  options.quiet
    ? undefined
    : (req: RecordedRequest) => {
        const target = req.headers["x-amz-target"];
        process.stderr.write(
          `[${server}] ${req.method} ${req.path}${req.query.size ? `?${req.query}` : ""}${target ? ` ${target}` : ""}\n`,
        );
      };

/** The session token local runs give the extension's API (Lambda gives a function its own). */
export const LOCAL_SESSION_TOKEN = "local-session-token";

/** Where `npm run local` keeps the secret `name` in the SSM stand-in. */
export const localParameterName = (name: string) => `/tributary/local/${name}`;

/**
 * The SSM stand-in with the app's secrets, and the environment that reads them from it as a
 * deployed function does (`<NAME>_PARAM`): zip functions through the Parameters and Secrets
 * extension's API, which the stand-in serves (it needs a session token, any will do), the
 * container image through SSM's own API. A rotation: `aws ssm put-parameter --endpoint-url
 * "$AWS_ENDPOINT_URL_SSM" --name <parameter> --value <new> --overwrite`.
 */
async function secretsInSsm(
  secrets: Record<string, string>,
  options: LocalOptions & { extension: boolean },
): Promise<{ ssm: FakeSsm; env: Record<string, string> }> {
  const ssm = await startFakeSsm({
    parameters: Object.fromEntries(Object.entries(secrets).map(([name, value]) => [localParameterName(name), value])),
    onRequest: logger(options)("ssm"),
  });
  return {
    ssm,
    env: {
      AWS_ENDPOINT_URL_SSM: ssm.url,
      ...(options.extension ? { [SECRETS_EXTENSION_ENV.httpPort]: ssm.extensionPort, AWS_SESSION_TOKEN: LOCAL_SESSION_TOKEN } : {}),
      ...Object.fromEntries(Object.keys(secrets).map((name) => [secretParamEnv(name), localParameterName(name)])),
    },
  };
}

/** The alma functions: dynalite with the three tables, SQS for the users queue, SNS for the webhook. */
async function alma(options: LocalOptions = {}): Promise<LocalApp> {
  const log = logger(options);
  const dynamo = await startDynalite();
  for (const [name, schema] of Object.entries({ ...ALMA_TABLES, tombstones: TOMBSTONES_TABLE })) await dynamo.createTable(name, schema);
  const sqs = await startFakeSqs({ onRequest: log("sqs") });
  const sns = await startFakeSns({ onRequest: log("sns") });
  const secrets = await secretsInSsm({ [ALMA_ENV.webhookSecret]: FIXTURE_WEBHOOK_SECRET }, { ...options, extension: true });
  return {
    env: {
      ...localAwsEnv({ AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_ENDPOINT_URL_SQS: sqs.url, AWS_ENDPOINT_URL_SNS: sns.url }),
      ...secrets.env,
      [ALMA_ENV.usersTable]: "users",
      [ALMA_ENV.loansTable]: "loans",
      [ALMA_ENV.requestsTable]: "requests",
      [ALMA_ENV.usersQueueUrl]: sqs.queueUrl("users"),
      [ALMA_ENV.tombstonesTable]: "tombstones",
      ...Object.fromEntries(ALMA_EVENTS.map((event) => [topicArnEnv(event), `arn:aws:sns:eu-west-2:000000000000:alma-${event}`])),
    },
    close: async () => void (await Promise.all([dynamo.close(), sqs.close(), sns.close(), secrets.ssm.close()])),
  };
}

/** The dev tenant's audience, as the original's README gives it. */
const LOCAL_AUDIENCE = "https://m2m.topcoder-dev.com/";

/** lesson-completed: one stand-in for Auth0's token endpoint and the Learning Paths API. */
async function lessons(options: LocalOptions = {}): Promise<LocalApp> {
  const log = logger(options);
  const auth0 = auth0TokenRoute({ clients: { "local-client": "local-secret" }, audiences: [LOCAL_AUDIENCE], token: () => "local-token" });
  const server = await startStub(
    (req): StubResponse => {
      if (req.method === "POST" && req.path === "/oauth/token") return auth0(req);
      if (req.method === "PUT" && req.path.endsWith("/complete-lesson-via-mongo-trigger")) {
        return req.headers.authorization === "Bearer local-token" ? { status: 200 } : { status: 401 };
      }
      return { status: 404, body: { message: "not a route of the local stand-in" } };
    },
    { onRequest: log("lessons") },
  );
  const secrets = await secretsInSsm({ [LESSONS_ENV.auth0ClientSecret]: "local-secret" }, { ...options, extension: true });
  return {
    env: {
      ...localAwsEnv({}),
      ...secrets.env,
      [LESSONS_ENV.auth0Url]: `${server.url}/oauth/token`,
      [LESSONS_ENV.auth0Audience]: LOCAL_AUDIENCE,
      [LESSONS_ENV.auth0ClientId]: "local-client",
      [LESSONS_ENV.learningPathsApiEndpoint]: `${server.url}/v5/learning-paths/certification-progresses/complete-lesson-via-mongo-trigger`,
    },
    close: async () => void (await Promise.all([server.close(), secrets.ssm.close()])),
  };
}

/** The hdoc API functions: dynalite with the users table and three users. */
async function hdoc(): Promise<LocalApp> {
  // Loaded when used: they bring in the Pulumi SDK, which the other apps and --help do without.
  const { HDOC_USERS_TABLE } = require("../apps/hdoc/hdoc-backend") as typeof import("../apps/hdoc/hdoc-backend");
  const { HDOC_PRIVATE_ATTRIBUTES } = require("../apps/hdoc/settings") as typeof import("../apps/hdoc/settings");
  const dynamo = await startDynalite();
  await dynamo.createTable("users", HDOC_USERS_TABLE);
  const { PutCommand } = await import("@aws-sdk/lib-dynamodb");
  for (const [github_username, days_completed] of [
    ["ada", 42],
    ["grace", 100],
    ["linus", 7],
  ] as const) {
    await dynamo.documents.send(new PutCommand({ TableName: "users", Item: { github_username, days_completed, status: "active" } }));
  }
  return {
    env: {
      ...localAwsEnv({ AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint }),
      [HDOC_ENV.usersTable]: "users",
      [HDOC_ENV.publicAttributes]: JSON.stringify({ except: HDOC_PRIVATE_ATTRIBUTES }),
    },
    close: () => dynamo.close(),
  };
}

/**
 * skill-sync: a BRN database of its own on the MySQL server at MYSQL_URL (this machine's
 * MariaDB by default), s3rver, and stand-ins for Airtable, Badgr and GitHub with one
 * assessment, badge, assertion and template.
 */
async function skills(options: LocalOptions = {}): Promise<LocalApp> {
  const log = logger(options);
  // Loaded when used: s3rver and the MySQL driver are most of this script's start.
  const { createBrnDatabase } = require("../tooling/local/mysql") as typeof import("../tooling/local/mysql");
  const { S3RVER_CREDENTIALS, startS3rver } = require("../tooling/local/s3") as typeof import("../tooling/local/s3");
  const db = await createBrnDatabase("tributary_local");
  const s3 = await startS3rver(["templates"]);
  const archive = await zipball({ "README.md": "# Template\n", "src/main.py": "print('hello')\n" });
  const server = await startStub(
    (req): StubResponse => {
      if (req.path === "/airtable/appLOCALBASE000001/assessments") {
        return {
          body: {
            records: [{ id: "rec1", fields: { id: 1, name: "Python basics", template_repo: "python-basics", latest_release: "v1.0.0" } }],
          },
        };
      }
      if (req.path === "/badgr/o/token/") return { body: { access_token: "badgr-token", expires_in: 86400 } };
      if (req.path === "/badgr/v2/issuers/LOCALISSUER/badgeclasses") {
        return {
          body: { result: [{ entityId: "badge1", entityType: "BadgeClass", name: "Python basics", image: "https://example.org/b.png" }] },
        };
      }
      if (req.path === "/badgr/v2/issuers/LOCALISSUER/assertions") {
        return {
          body: {
            result: [
              {
                entityId: "assert1",
                badgeclass: "badge1",
                openBadgeId: "https://example.org/a/1",
                createdAt: "2024-03-01T10:00:00Z",
                recipient: { identity: "ada@example.org", type: "email", hashed: false, plaintextIdentity: "ada@example.org" },
              },
            ],
          },
        };
      }
      if (req.path === "/github/repos/brn-local/python-basics/zipball/v1.0.0")
        return { headers: { "content-type": "application/zip" }, body: archive };
      if (req.path === "/github/repos/brn-local/python-basics/commits/v1.0.0")
        return commitShaAnswer(archive, req.headers["if-none-match"]);
      return { status: 404, body: { message: "not a route of the local stand-in" } };
    },
    { onRequest: log("upstream") },
  );
  const secrets = await secretsInSsm(
    {
      BRN_DATABASE_URL: db.url,
      AIRTABLE_TOKEN: "local-airtable-token",
      BADGR_USERNAME: "local-user",
      BADGR_PASSWORD: "local-password",
      BADGR_CLIENT_ID: "local-client",
    },
    { ...options, extension: false },
  );
  return {
    env: {
      ...localAwsEnv({ AWS_ENDPOINT_URL_S3: s3.endpoint }),
      ...secrets.env,
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      [SKILLS_ENV.templatesBucket]: "templates",
      [SKILLS_ENV.airtableApiUrl]: `${server.url}/airtable`,
      [SKILLS_ENV.airtableBaseId]: "appLOCALBASE000001",
      [SKILLS_ENV.badgrBaseUrl]: `${server.url}/badgr`,
      [SKILLS_ENV.badgrIssuerId]: "LOCALISSUER",
      [SKILLS_ENV.githubApiUrl]: `${server.url}/github`,
      [SKILLS_ENV.githubOrg]: "brn-local",
    },
    close: async () => void (await Promise.all([db.drop(), s3.close(), server.close(), secrets.ssm.close()])),
  };
}

type StartLocal = (options?: LocalOptions) => Promise<LocalApp>;
export const LOCAL_APPS: Record<string, StartLocal> = { alma, lessons, hdoc, skills } satisfies Record<LocalAppName, StartLocal>;

export const LOCAL_COMMAND = defineCommand({
  command: "npm run local",
  help: `Usage: npm run local -- <${LOCAL_APP_NAMES.join("|")}>

Starts, on 127.0.0.1, everything an app's functions talk to: dynalite, s3rver and small
stand-ins for SQS, SNS, SSM Parameter Store (and the Parameters and Secrets extension's API,
holding the app's secrets), Auth0, the Learning Paths API, Airtable, Badgr and GitHub, as the
app needs. It writes the environment that points the functions at them to
${localEnvFile("<app>")}, logs every request the stand-ins receive to stderr, and runs until
Ctrl-C, which stops them and removes that file. skills keeps its BRN database on the MySQL
server at MYSQL_URL (default mysql://root@127.0.0.1:3306/test). iota has no stand-ins: it needs
a MongoDB replica set (set MILL_IOTA_MONGO_URI to one).

Options:
  -h, --help   print this help and exit

Example:
  npm run local -- alma                  # in one terminal; then, in another:
  source ${localEnvFile("alma")}
  npm run invoke -- alma-webhook --event test/fixtures/payloads/alma-webhook/loan_created_event.json
`,
  options: {},
  allowPositionals: true,
});

/** `export NAME='value'` lines, for `source`. */
export function envFile(env: Record<string, string>): string {
  return `${Object.entries(env)
    .map(([k, v]) => `export ${k}='${v.replace(/'/g, "'\\''")}'`)
    .join("\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, LOCAL_COMMAND);
  if (typeof parsed === "number") return parsed;
  const [name, ...extra] = parsed.positionals;
  if (!name) return usageError(LOCAL_COMMAND, `say which app: ${LOCAL_APP_NAMES.join(", ")}`);
  if (extra.length > 0) return usageError(LOCAL_COMMAND, `one app at a time (got ${parsed.positionals.join(", ")})`);
  const start = LOCAL_APPS[name];
  if (!start) {
    const iota = name === "iota" ? " (iota needs a MongoDB replica set instead: set MILL_IOTA_MONGO_URI to one, see docs/local.md)" : "";
    return usageError(LOCAL_COMMAND, `no local stand-ins for "${name}"${iota}; the apps are ${LOCAL_APP_NAMES.join(", ")}`);
  }
  const app = await start();
  const file = path.join(REPO_ROOT, localEnvFile(name));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, envFile(app.env));
  process.stdout.write(`local stand-ins for ${name} are up; in another terminal:\n  source ${path.relative(process.cwd(), file)}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await app.close();
  fs.rmSync(file, { force: true });
  return 0;
}

if (require.main === module) {
  runMain(() => main(process.argv.slice(2)));
}
