import * as assert from "node:assert/strict";
import { adoptionReport, renderChange, unapprovedChanges } from "../../tooling/adoption-report";
import type { RecordedResource, RunResult } from "../../tooling/mock-engine";

/** A recorded resource as the mock engine records one, adopted when `importId` is given. */
function recorded(
  type: string,
  name: string,
  inputs: Record<string, any>,
  importId?: string,
  ignoreChanges: string[] = [],
): RecordedResource {
  return {
    urn: `urn:pulumi:prod::tributary::${type}::${name}`,
    type,
    name,
    inputs,
    rawInputs: inputs,
    id: importId ?? `${name}-id`,
    state: { ...inputs, name: inputs.name ?? inputs.bucket, bucket: inputs.bucket },
    read: false,
    options: { import: importId, protect: true, retainOnDelete: true, ignoreChanges, aliases: [] },
    outputs: {},
  };
}

const run = (resources: RecordedResource[], config: Record<string, string> = {}): RunResult => ({
  stack: "prod",
  resources,
  calls: [],
  outputs: {},
  config,
});

const TABLE = "aws:dynamodb/table:Table";
const KEY = {
  name: "lag-suc-prod-loanCacheTable-X",
  hashKey: "loan_id",
  attributes: [{ name: "loan_id", type: "S" }],
  ttl: { attributeName: "expiry_date", enabled: true },
};

describe("the adoption report", () => {
  it("finds nothing to change on a table declared as its original was", () => {
    const table = recorded(TABLE, "alma-loans", { ...KEY, billingMode: "PROVISIONED", readCapacity: 5, writeCapacity: 5 }, KEY.name, [
      "globalSecondaryIndexes",
      "serverSideEncryption",
      "pointInTimeRecovery",
      "deletionProtectionEnabled",
    ]);
    const report = adoptionReport(run([table]));
    assert.deepEqual(
      report.adopted.map((r) => r.original),
      ["loanCacheTable of the lag-suc-<stage> stack"],
    );
    assert.deepEqual(report.changes, []);
  });

  it("reports a declared value that differs from the original's, with its source, as a change without an opt-in", () => {
    const table = recorded(
      TABLE,
      "alma-loans",
      { ...KEY, billingMode: "PAY_PER_REQUEST", serverSideEncryption: { enabled: true } },
      KEY.name,
      ["globalSecondaryIndexes", "pointInTimeRecovery", "deletionProtectionEnabled", "readCapacity", "writeCapacity"],
    );
    const changes = unapprovedChanges(adoptionReport(run([table])));
    assert.deepEqual(
      changes.map((c) => [c.setting, c.original, c.planned, c.improvement]),
      [
        ["billingMode", "PROVISIONED", "PAY_PER_REQUEST", "onDemandCapacity"],
        ["serverSideEncryption", null, { enabled: true }, "encryption"],
      ],
    );
    assert.match(changes[0].source, /lulibrary\/LAG-sns-update-cache@b30c590 serverless\.yml/);
    assert.match(
      renderChange(changes[0]),
      /alma-loans \(aws:dynamodb\/table:Table\) billingMode: PROVISIONED → PAY_PER_REQUEST \[NOT opted in\]/,
    );
  });

  it("lets the app's opt-in make the same change deliberate", () => {
    const table = recorded(TABLE, "alma-loans", { ...KEY, billingMode: "PAY_PER_REQUEST" }, KEY.name, [
      "globalSecondaryIndexes",
      "serverSideEncryption",
      "pointInTimeRecovery",
      "deletionProtectionEnabled",
      "readCapacity",
      "writeCapacity",
    ]);
    const report = adoptionReport(run([table], { "tributary:alma": JSON.stringify({ hardening: { onDemandCapacity: true } }) }));
    assert.deepEqual(unapprovedChanges(report), []);
    assert.equal(report.changes[0].optIn, "tributary:alma.hardening.onDemandCapacity");
  });

  it("reports a value the original sets that the program neither declares nor keeps (a topic's display name)", () => {
    const topic = recorded(
      "aws:sns/topic:Topic",
      "alma-topic-loan-created",
      { name: "lag-awh-prod-loanCreatedTopic-X" },
      "arn:aws:sns:eu-west-2:1:lag-awh-prod-loanCreatedTopic-X",
      ["kmsMasterKeyId"],
    );
    assert.deepEqual(
      unapprovedChanges(adoptionReport(run([topic]))).map((c) => [c.setting, c.original]),
      [["displayName", "AlmaLoanCreated"]],
    );
  });

  it("reports a declared property the originals table does not record, and a setting the original's owner decides", () => {
    const queue = recorded(
      "aws:sqs/queue:Queue",
      "alma-users-dlq",
      { name: "lag-suc-prod-usersDLQ", messageRetentionSeconds: 1209600, fifoQueue: false },
      "https://sqs/1/lag-suc-prod-usersDLQ",
      ["sqsManagedSseEnabled"],
    );
    const bus = recorded("aws:cloudwatch/eventBus:EventBus", "iota-bus", { name: "iota-prod", description: "ours" }, "iota-prod");
    assert.deepEqual(
      unapprovedChanges(adoptionReport(run([queue, bus]))).map((c) => [c.resource, c.setting, c.original]),
      [
        ["alma-users-dlq", "fifoQueue", "not recorded"],
        ["iota-bus", "description", "kept"],
      ],
    );
  });

  it("reports a resource that replaces an adopted bucket's policy, and an addition when the original's statements are kept", () => {
    const bucket = recorded("aws:s3/bucket:Bucket", "hdoc-frontend-site", { bucket: "site" }, "site", ["website", "corsRules"]);
    const original = {
      Sid: "PublicReadForGetBucketObjects",
      Effect: "Allow",
      Principal: { CanonicalUser: "abc" },
      Action: "s3:GetObject",
      Resource: "arn:aws:s3:::site/*",
    };
    const ours = {
      Sid: "ReadByThisDistributionOnly",
      Effect: "Allow",
      Principal: { Service: "cloudfront.amazonaws.com" },
      Action: "s3:GetObject",
      Resource: "arn:aws:s3:::site/*",
    };
    const policy = (statements: object[]) =>
      recorded("aws:s3/bucketPolicy:BucketPolicy", "hdoc-frontend-site-policy", {
        bucket: "site",
        policy: JSON.stringify({ Id: "PublicAccessPolicy", Version: "2012-10-17", Statement: statements }),
      });
    const replaced = adoptionReport(run([bucket, policy([ours])])).changes;
    assert.deepEqual(
      replaced.map((c) => [c.setting, c.kind]),
      [["aws:s3/bucketPolicy:BucketPolicy", "change"]],
    );
    const added = adoptionReport(run([bucket, policy([original, ours])])).changes;
    assert.deepEqual(
      added.map((c) => [c.kind, c.note]),
      [["addition", "keeps the original's statements and adds ReadByThisDistributionOnly"]],
    );
    const block = recorded("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "hdoc-frontend-site-public-access", {
      bucket: "site",
      blockPublicAcls: true,
    });
    assert.deepEqual(
      unapprovedChanges(adoptionReport(run([bucket, policy([original]), block]))).map((c) => [c.setting, c.original, c.improvement]),
      [["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", null, "blockPublicAccess"]],
    );
  });

  it("reports an adopted resource the originals table does not know", () => {
    const stray = recorded("aws:sqs/queue:Queue", "somewhere-else", { name: "q" }, "https://sqs/1/q");
    assert.deepEqual(
      unapprovedChanges(adoptionReport(run([stray]))).map((c) => c.setting),
      ["*"],
    );
  });
});
