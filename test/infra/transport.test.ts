/**
 * The `tlsOnly` improvement: every bucket and queue the stack creates refuses requests not
 * made over TLS, in its one resource policy; an adopted one only once the app opts in.
 */
import * as assert from "node:assert/strict";
import { TLS_ONLY_SID } from "../../components/iam";
import { checkStack } from "../../policy/rules";
import { adoptionReport, unapprovedChanges } from "../../tooling/adoption-report";
import {
  named,
  ofType,
  policyOf,
  policyResources,
  type RecordedResource,
  type RunResult,
  runStack,
  stackRun,
} from "../../tooling/mock-engine";
import { runVariant, settingsVariant } from "../helpers/stack-variant";

const BUCKET = "aws:s3/bucket:Bucket";
const QUEUE = "aws:sqs/queue:Queue";
const BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy";
const QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy";

/** The policy resources that configure a bucket or queue. */
function policiesOf(run: RunResult, target: RecordedResource): RecordedResource[] {
  return target.type === BUCKET
    ? ofType(run, BUCKET_POLICY).filter((p) => p.rawInputs.bucket === target.id)
    : ofType(run, QUEUE_POLICY).filter((p) => p.rawInputs.queueUrl === target.state.url);
}

/** The deny the improvement adds, exactly: nothing but `service:*` over plain HTTP, for anyone. */
function tlsDeny(service: "s3" | "sqs", resources: string[]) {
  return {
    Sid: TLS_ONLY_SID,
    Effect: "Deny",
    Principal: "*",
    Action: `${service}:*`,
    Resource: resources,
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}

function expectedDeny(target: RecordedResource) {
  return target.type === BUCKET ? tlsDeny("s3", [target.state.arn, `${target.state.arn}/*`]) : tlsDeny("sqs", [target.state.arn]);
}

/** The buckets and queues of a run whose one policy holds the TLS-only deny on exactly them. */
function denied(run: RunResult): string[] {
  return [...ofType(run, BUCKET), ...ofType(run, QUEUE)]
    .filter((target) => policiesOf(run, target).some((p) => policyOf(p).Statement.some((s) => s.Sid === TLS_ONLY_SID)))
    .map((target) => target.name)
    .sort();
}

const CREATED_EVERYWHERE = [
  "alma-failed-events",
  "alma-loan-returned-queue",
  "alma-loan-updated-queue",
  "alma-request-closed-queue",
  "alma-request-updated-queue",
  "iota-records-failed-events",
  "lessons-failed-events",
  "skills-failed-invocations",
];

describe("TLS-only transport (tlsOnly)", () => {
  for (const [stack, expected] of [
    ["dev", [...CREATED_EVERYWHERE, "alma-users", "alma-users-dlq", "hdoc-frontend-site", "skills-templates"]],
    // staging adopts alma's users queues and hdoc's site bucket; prod the bot's templates bucket too.
    ["staging", [...CREATED_EVERYWHERE, "skills-templates"]],
    ["prod", CREATED_EVERYWHERE],
  ] as const) {
    describe(stack, () => {
      let run: RunResult;
      before(async function () {
        this.timeout(90_000);
        run = await stackRun(stack);
      });

      it(`denies plain HTTP on the ${expected.length} buckets and queues it creates, and on none it adopts`, () => {
        assert.deepEqual(denied(run), [...expected].sort());
        for (const target of [...ofType(run, BUCKET), ...ofType(run, QUEUE)])
          assert.equal(expected.includes(target.name as never), target.options.import === undefined, target.name);
      });

      it("gives each bucket and queue one policy at most: a second would replace the first one's statements", () => {
        for (const target of [...ofType(run, BUCKET), ...ofType(run, QUEUE)])
          assert.ok(policiesOf(run, target).length <= 1, `${target.name} has ${policiesOf(run, target).length} policies`);
      });

      it("writes the deny exactly, on the resource's own ARN, beside the senders' grants", () => {
        for (const name of expected) {
          const target = ofType(run, BUCKET).find((b) => b.name === name) ?? named(run, QUEUE, name);
          const [policy] = policiesOf(run, target);
          const statements = policyOf(policy).Statement;
          assert.deepEqual(statements.at(-1), expectedDeny(target), name);
          // Everything else in the policy still grants what it did, to named services only.
          for (const s of statements.slice(0, -1))
            assert.ok(s.Effect === "Allow" && typeof s.Principal === "object", `${name}: ${JSON.stringify(s)}`);
        }
        const cacheQueue = named(run, QUEUE, "alma-loan-updated-queue");
        assert.deepEqual(
          policyOf(policiesOf(run, cacheQueue)[0])
            .Statement.slice(0, -1)
            .map((s) => s.Principal.Service),
          ["sns.amazonaws.com", "sns.amazonaws.com", "sns.amazonaws.com"],
          "the topics that feed the queue still send to it",
        );
        const lessonsQueue = named(run, QUEUE, "lessons-failed-events");
        const [rulePolicy] = policiesOf(run, lessonsQueue);
        assert.equal(rulePolicy.name, "lessons-rule-dlq-policy", "the rule writes its DLQ's one policy");
        assert.equal(
          policyOf(rulePolicy).Statement[0].Condition.ArnEquals["aws:SourceArn"],
          named(run, "aws:cloudwatch/eventRule:EventRule", "lessons-rule").state.arn,
        );
      });

      it("passes the policy pack's tls-only-transport rule", () => {
        const found = checkStack(policyResources(run), { stage: stack }).filter(
          (v) => v.rule === "tls-only-transport" || v.rule === "iam-no-wildcards",
        );
        assert.deepEqual(found, []);
      });
    });
  }

  describe("adopted buckets and queues (prod)", () => {
    it("are left as they are without the opt-in: no queue policy, the site bucket's policy without the deny, no policy on the bot's bucket", async () => {
      const prod = await stackRun("prod");
      for (const name of ["alma-users", "alma-users-dlq"]) assert.deepEqual(policiesOf(prod, named(prod, QUEUE, name)), [], name);
      assert.deepEqual(policiesOf(prod, named(prod, BUCKET, "skills-templates")), []);
      const site = policyOf(named(prod, BUCKET_POLICY, "hdoc-frontend-site-policy")).Statement.map((s) => s.Sid);
      assert.ok(!site.includes(TLS_ONLY_SID));
      assert.deepEqual(
        adoptionReport(prod).changes.filter((c) => c.improvement === "tlsOnly"),
        [],
      );
      const pending = checkStack(policyResources(prod), { stage: "prod" }).filter(
        (v) => v.rule === "adopted-pending-hardening" && v.message.includes("tlsOnly"),
      );
      assert.deepEqual(pending.map((v) => v.message.replace(/: is adopted.*/, "")).sort(), [
        "aws:s3/bucket:Bucket hdoc-frontend-site",
        "aws:s3/bucket:Bucket skills-templates",
        "aws:sqs/queue:Queue alma-users",
        "aws:sqs/queue:Queue alma-users-dlq",
      ]);
    });

    it("get the deny once each app opts in, each shown in the adoption report as a change with the key that opted in", async function () {
      this.timeout(90_000);
      const run = await runVariant("prod", (config) => {
        for (const app of ["alma", "hdoc", "skills"]) config[`tributary:${app}`].hardening = { tlsOnly: true };
      });
      assert.deepEqual(
        denied(run),
        [...CREATED_EVERYWHERE, "alma-users", "alma-users-dlq", "hdoc-frontend-site", "skills-templates"].sort(),
      );
      for (const name of ["alma-users", "alma-users-dlq"]) {
        const queue = named(run, QUEUE, name);
        assert.deepEqual(
          policyOf(policiesOf(run, queue)[0]).Statement,
          [expectedDeny(queue)],
          `${name}: the deny alone, as no sender needs the policy`,
        );
      }
      // The site keeps the old distribution's grant and the new one's, and adds the deny.
      const site = named(run, BUCKET_POLICY, "hdoc-frontend-site-policy");
      assert.deepEqual(
        policyOf(site).Statement.map((s) => s.Sid),
        ["PublicReadForGetBucketObjects", "ReadByThisDistributionOnly", TLS_ONLY_SID],
      );
      assert.equal(site.options.retainOnDelete, true);
      // The bot's bucket had no policy (S3 answers NoSuchBucketPolicy): it gets the deny alone, and keeps it if the stack goes.
      const templates = named(run, BUCKET_POLICY, "skills-templates-policy");
      assert.deepEqual(policyOf(templates).Statement, [expectedDeny(named(run, BUCKET, "skills-templates"))]);
      assert.equal(templates.options.retainOnDelete, true);

      const report = adoptionReport(run);
      assert.deepEqual(unapprovedChanges(report), []);
      const tls = report.changes.filter((c) => c.improvement === "tlsOnly").map((c) => [c.resource, c.setting, c.kind, c.optIn]);
      assert.deepEqual(tls.sort(), [
        ["alma-users", QUEUE_POLICY, "change", "tributary:alma.hardening.tlsOnly"],
        ["alma-users-dlq", QUEUE_POLICY, "change", "tributary:alma.hardening.tlsOnly"],
        ["hdoc-frontend-site", BUCKET_POLICY, "change", "tributary:hdoc.hardening.tlsOnly"],
        ["skills-templates", BUCKET_POLICY, "change", "tributary:skills.hardening.tlsOnly"],
      ]);
      // The new distribution's grant stays a harmless addition beside the adopted policy's statement.
      assert.ok(
        report.changes.some(
          (c) => c.resource === "hdoc-frontend-site" && c.kind === "addition" && /adds ReadByThisDistributionOnly$/.test(c.note ?? ""),
        ),
      );
    });

    it("keep what the bot's bucket policy already grants, beside the deny", async function () {
      this.timeout(90_000);
      const granted = {
        Sid: "BotReads",
        Effect: "Allow",
        Principal: { AWS: "arn:aws:iam::333333333333:role/skill-bot" },
        Action: "s3:GetObject",
        Resource: "arn:aws:s3:::brn-skill-app-templates/*",
      };
      const run = await runStack("prod", {
        settingsFile: settingsVariant("prod", (config) => {
          config["tributary:skills"].hardening = { tlsOnly: true };
        }),
        calls: {
          "aws:s3/getBucketPolicy:getBucketPolicy": ({ bucket }) => ({
            bucket,
            id: bucket,
            policy: JSON.stringify({ Version: "2012-10-17", Statement: [granted] }),
          }),
        },
      });
      const statements = policyOf(named(run, BUCKET_POLICY, "skills-templates-policy")).Statement;
      assert.deepEqual(statements, [granted, expectedDeny(named(run, BUCKET, "skills-templates"))]);
    });
  });

  it("is switched off per app with hardening.tlsOnly false, and the policy pack then names each queue", async function () {
    this.timeout(90_000);
    const run = await runVariant("dev", (config) => {
      config["tributary:iota"].hardening = { tlsOnly: false };
    });
    const queue = named(run, QUEUE, "iota-records-failed-events");
    const statements = policyOf(policiesOf(run, queue)[0]).Statement;
    assert.deepEqual(
      statements.map((s) => s.Principal),
      [{ Service: "events.amazonaws.com" }],
      "the rule still may send to it",
    );
    const violations = checkStack(policyResources(run), { stage: "dev" }).filter((v) => v.rule === "tls-only-transport");
    assert.deepEqual(
      violations.map((v) => v.message),
      [
        "aws:sqs/queue:Queue iota-records-failed-events: its policy has no statement denying sqs:* to anyone when aws:SecureTransport is false",
      ],
    );
  });
});
