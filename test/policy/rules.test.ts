import * as assert from "node:assert/strict";
import { checkStack, deadLetterQueues, type PolicyResource, RULES, SECRET_MARK } from "../../policy/rules";

let counter = 0;
const res = (type: string, name: string, props: Record<string, any>): PolicyResource => ({
  type,
  name,
  urn: `urn:pulumi:test::tributary::${type}::${name}-${counter++}`,
  props,
});
const fn = (name: string, props: Record<string, any> = {}) =>
  res("aws:lambda/function:Function", name, {
    name,
    arn: `arn:aws:lambda:eu-west-2:1:function:${name}`,
    runtime: "nodejs22.x",
    timeout: 30,
    loggingConfig: { logGroup: `${name}-logs` },
    ...props,
  });
const logGroup = (name: string, retentionInDays = 14) => res("aws:cloudwatch/logGroup:LogGroup", name, { name, retentionInDays });
const queue = (name: string, props: Record<string, any> = {}) =>
  res("aws:sqs/queue:Queue", name, { name, arn: `arn:aws:sqs:eu-west-2:1:${name}`, ...props });
const depthAlarm = (queueName: string) =>
  res("aws:cloudwatch/metricAlarm:MetricAlarm", `${queueName}-depth`, {
    namespace: "AWS/SQS",
    metricName: "ApproximateNumberOfMessagesVisible",
    dimensions: { QueueName: queueName },
  });
const rolePolicy = (statements: unknown[]) =>
  res("aws:iam/rolePolicy:RolePolicy", "p", { policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }) });

/** The violations one rule finds. */
function check(rule: string, resources: PolicyResource[], stage: "dev" | "prod" = "dev") {
  const found = RULES.find((r) => r.name === rule);
  assert.ok(found, `rule ${rule} exists`);
  return found.check(resources, { stage }).map((v) => v.message);
}

describe("policy rules", () => {
  it("are all mandatory but the reminder about adopted resources, each with a description", () => {
    assert.equal(RULES.length, 16);
    for (const rule of RULES) {
      assert.equal(rule.enforcementLevel, rule.name === "adopted-pending-hardening" ? "advisory" : "mandatory", rule.name);
      assert.ok(rule.description.length > 20);
    }
  });

  describe("iam-no-wildcards", () => {
    it('refuses Action "*", service:* actions and Resource "*"', () => {
      assert.equal(check("iam-no-wildcards", [rolePolicy([{ Effect: "Allow", Action: "*", Resource: "arn:aws:s3:::b" }])]).length, 1);
      assert.match(
        check("iam-no-wildcards", [rolePolicy([{ Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::b"] }])])[0],
        /wildcard action s3:\*/,
      );
      assert.match(
        check("iam-no-wildcards", [rolePolicy([{ Effect: "Allow", Action: ["dynamodb:GetItem"], Resource: "*" }])])[0],
        /Resource "\*" for dynamodb:GetItem/,
      );
      assert.match(check("iam-no-wildcards", [rolePolicy([{ Effect: "Allow", NotAction: "iam:*", Resource: "arn:x" }])])[0], /NotAction/);
    });

    it("allows exact actions on exact ARNs, and the allow-listed actions on *", () => {
      assert.deepEqual(
        check("iam-no-wildcards", [
          rolePolicy([
            { Effect: "Allow", Action: ["dynamodb:GetItem"], Resource: ["arn:aws:dynamodb:eu-west-2:1:table/t"] },
            { Effect: "Allow", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: ["*"] },
            { Effect: "Deny", Action: "*", Resource: "*" },
          ]),
        ]),
        [],
      );
    });
  });

  describe("iam-no-wildcards in bucket and queue policies", () => {
    const queuePolicy = (statements: unknown[]) =>
      res("aws:sqs/queuePolicy:QueuePolicy", "qp", {
        queueUrl: "u",
        policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }),
      });
    const bucketPolicy = (statements: unknown[]) =>
      res("aws:s3/bucketPolicy:BucketPolicy", "bp", {
        bucket: "b",
        policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }),
      });
    const tlsDeny = (service: string, extra: Record<string, unknown> = {}) => ({
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: `${service}:*`,
      Resource: ["arn:aws:sqs:eu-west-2:1:q"],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
      ...extra,
    });

    it('allows Principal "*" and a service:* action in exactly the TLS-only deny, beside grants to named services', () => {
      const sender = {
        Effect: "Allow",
        Principal: { Service: "sns.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: "arn:aws:sqs:eu-west-2:1:q",
      };
      assert.deepEqual(
        check("iam-no-wildcards", [queuePolicy([sender, tlsDeny("sqs")]), bucketPolicy([tlsDeny("s3", { Principal: { AWS: "*" } })])]),
        [],
      );
    });

    it('refuses Principal "*" or a wildcard action anywhere else: an Allow, a deny of another service or on another condition', () => {
      assert.match(
        check("iam-no-wildcards", [
          queuePolicy([{ Effect: "Allow", Principal: "*", Action: "sqs:SendMessage", Resource: "arn:aws:sqs:eu-west-2:1:q" }]),
        ])[0],
        /names Principal "\*"/,
      );
      assert.match(
        check("iam-no-wildcards", [
          queuePolicy([
            { Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:*", Resource: "arn:aws:sqs:eu-west-2:1:q" },
          ]),
        ])[0],
        /wildcard action sqs:\*/,
      );
      assert.equal(
        check("iam-no-wildcards", [queuePolicy([tlsDeny("s3")])]).length,
        2,
        "an s3:* deny in a queue policy is not the TLS-only deny",
      );
      assert.equal(
        check("iam-no-wildcards", [
          bucketPolicy([
            tlsDeny("s3", { Condition: { Bool: { "aws:SecureTransport": "false" }, IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } }),
          ]),
        ]).length,
        2,
      );
      assert.equal(check("iam-no-wildcards", [bucketPolicy([tlsDeny("s3", { Effect: "Allow" })])]).length, 2);
    });
  });

  describe("async-lambda-failure-destination", () => {
    const permission = (f: PolicyResource, principal: string) =>
      res("aws:lambda/permission:Permission", "invoke", { principal, function: f.props.name, sourceArn: "arn:aws:sns:eu-west-2:1:t" });
    it("refuses a function SNS invokes without a destination or DLQ", () => {
      const f = fn("f");
      assert.match(
        check("async-lambda-failure-destination", [f, permission(f, "sns.amazonaws.com")])[0],
        /no on-failure destination or dead-letter queue/,
      );
      const scheduled = fn("s");
      assert.equal(
        check("async-lambda-failure-destination", [
          scheduled,
          res("aws:scheduler/schedule:Schedule", "sch", { target: { arn: scheduled.props.arn } }),
        ]).length,
        1,
      );
    });

    it("accepts an on-failure destination or a function DLQ, and ignores synchronous callers", () => {
      const f = fn("f");
      const config = res("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "c", {
        functionName: "f",
        destinationConfig: { onFailure: { destination: "arn:aws:sqs:eu-west-2:1:q" } },
      });
      assert.deepEqual(check("async-lambda-failure-destination", [f, permission(f, "events.amazonaws.com"), config]), []);
      const g = fn("g", { deadLetterConfig: { targetArn: "arn:aws:sqs:eu-west-2:1:q" } });
      assert.deepEqual(check("async-lambda-failure-destination", [g, permission(g, "s3.amazonaws.com")]), []);
      const api = fn("api");
      assert.deepEqual(check("async-lambda-failure-destination", [api, permission(api, "apigateway.amazonaws.com")]), []);
    });
  });

  describe("target-dead-letter-queue", () => {
    it("refuses EventBridge and Scheduler targets without a DLQ, and accepts them with one", () => {
      assert.equal(
        check("target-dead-letter-queue", [
          res("aws:cloudwatch/eventTarget:EventTarget", "t", { arn: "x" }),
          res("aws:scheduler/schedule:Schedule", "s", { target: { arn: "x" } }),
        ]).length,
        2,
      );
      assert.deepEqual(
        check("target-dead-letter-queue", [
          res("aws:cloudwatch/eventTarget:EventTarget", "t", { arn: "x", deadLetterConfig: { arn: "q" } }),
          res("aws:scheduler/schedule:Schedule", "s", { target: { arn: "x", deadLetterConfig: { arn: "q" } } }),
        ]),
        [],
      );
    });
  });

  describe("dead-letter-retention-and-alarm", () => {
    it("refuses a DLQ that keeps messages less than 14 days or has no depth alarm", () => {
      const dlq = queue("dlq", { messageRetentionSeconds: 345600, tags: { "tributary:dead-letter-queue": "true" } });
      const target = res("aws:cloudwatch/eventTarget:EventTarget", "t", { deadLetterConfig: { arn: dlq.props.arn } });
      const messages = check("dead-letter-retention-and-alarm", [dlq, target]);
      assert.equal(messages.length, 2);
      assert.match(messages[0], /keeps messages 345600 s, not 1209600/);
      assert.match(messages[1], /no alarm on its depth/);
    });

    it("accepts 14 days with an alarm, and finds DLQs by tag and by every kind of reference", () => {
      const tag = { "tributary:dead-letter-queue": "true" };
      const tagged = queue("tagged", { messageRetentionSeconds: 1209600, tags: tag });
      const redrive = queue("redrive-dlq", { messageRetentionSeconds: 1209600, tags: tag });
      const source = queue("source", { redrivePolicy: JSON.stringify({ deadLetterTargetArn: redrive.props.arn, maxReceiveCount: 3 }) });
      const resources = [tagged, redrive, source, depthAlarm("tagged"), depthAlarm("redrive-dlq")];
      assert.deepEqual(
        deadLetterQueues(resources)
          .map((q) => q.name)
          .sort(),
        ["redrive-dlq", "tagged"],
      );
      assert.deepEqual(check("dead-letter-retention-and-alarm", resources), []);
    });

    it("refuses a queue used as a dead-letter queue without the tag, which a real preview needs to find it", () => {
      const dlq = queue("untagged-dlq", { messageRetentionSeconds: 1209600 });
      const subscription = res("aws:sns/topicSubscription:TopicSubscription", "s", {
        protocol: "sqs",
        redrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.props.arn }),
      });
      assert.deepEqual(check("dead-letter-retention-and-alarm", [dlq, subscription, depthAlarm("untagged-dlq")]), [
        "aws:sqs/queue:Queue untagged-dlq: is a dead-letter queue without the tag tributary:dead-letter-queue",
      ]);
      // An adopted queue keeps its own tags: its source's redrive policy finds it.
      assert.deepEqual(
        check("dead-letter-retention-and-alarm", [
          { ...dlq, ignoreChanges: ["tags", "tagsAll"] },
          subscription,
          depthAlarm("untagged-dlq"),
        ]),
        [],
      );
    });
  });

  describe("resource-alarms", () => {
    const actions = { alarmActions: ["arn:aws:sns:eu-west-2:1:alerts"], okActions: ["arn:aws:sns:eu-west-2:1:alerts"] };
    const alarm = (
      namespace: string,
      metricName: string,
      dimensions: Record<string, string>,
      threshold: number,
      props: Record<string, any> = actions,
    ) =>
      res("aws:cloudwatch/metricAlarm:MetricAlarm", `${Object.values(dimensions)[0]}-${metricName}`, {
        namespace,
        metricName,
        dimensions,
        threshold,
        ...props,
      });
    const fnAlarms = (name: string, durationMs = 24000) => [
      alarm("AWS/Lambda", "Errors", { FunctionName: name }, 1),
      alarm("AWS/Lambda", "Throttles", { FunctionName: name }, 1),
      alarm("AWS/Lambda", "Duration", { FunctionName: name }, durationMs),
    ];
    const queueAlarms = (name: string, ageSeconds: number) => [
      alarm("AWS/SQS", "ApproximateAgeOfOldestMessage", { QueueName: name }, ageSeconds),
      alarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", { QueueName: name }, 1000),
    ];
    const api = res("aws:apigatewayv2/api:Api", "api", { id: "abc123", protocolType: "HTTP" });
    const api5xx = alarm("AWS/ApiGateway", "5xx", { ApiId: "abc123", Stage: "$default" }, 1);

    it("refuses a function, a queue and an HTTP API without their alarms", () => {
      assert.deepEqual(
        check("resource-alarms", [fn("f"), queue("q"), api]).map((m) => m.replace(/^\S+ /, "")),
        [
          "f: has no alarm on AWS/Lambda Errors",
          "f: has no alarm on AWS/Lambda Throttles",
          "f: has no alarm on AWS/Lambda Duration",
          "q: has no alarm on AWS/SQS ApproximateAgeOfOldestMessage",
          "q: has no alarm on AWS/SQS ApproximateNumberOfMessagesVisible",
          "api: has no alarm on AWS/ApiGateway 5xx",
        ],
      );
      // An alarm on another function's metrics does not count.
      assert.equal(check("resource-alarms", [fn("f"), ...fnAlarms("g")]).length, 3);
    });

    it("refuses a duration alarm at or past the timeout, an age alarm past half the retention, and an alarm that notifies no one", () => {
      assert.match(
        check("resource-alarms", [fn("f", { timeout: 30 }), ...fnAlarms("f", 30000)])[0],
        /fires at 30000 ms, not before its 30000 ms timeout/,
      );
      const q = queue("q", { messageRetentionSeconds: 1209600 });
      assert.match(check("resource-alarms", [q, ...queueAlarms("q", 604801)])[0], /fires at 604801 s, after half its 1209600 s retention/);
      // A queue that sets no retention keeps messages SQS's 4 days.
      assert.match(check("resource-alarms", [queue("d"), ...queueAlarms("d", 172801)])[0], /after half its 345600 s retention/);
      const silent = alarm("AWS/ApiGateway", "5xx", { ApiId: "abc123" }, 1, {
        alarmActions: [],
        okActions: ["arn:aws:sns:eu-west-2:1:alerts"],
      });
      assert.match(check("resource-alarms", [api, silent])[0], /notifies no one when it fires or when it recovers/);
      const abroad = alarm("AWS/ApiGateway", "5xx", { ApiId: "abc123" }, 1, { ...actions, arn: "arn:aws:cloudwatch:us-east-1:1:alarm:a" });
      assert.deepEqual(check("resource-alarms", [api, abroad]), [
        "aws:cloudwatch/metricAlarm:MetricAlarm abc123-5xx: is in us-east-1 but notifies arn:aws:sns:eu-west-2:1:alerts: CloudWatch notifies only a topic in the alarm's region",
      ]);
    });

    it("accepts each with its alarms, an age alarm earlier than half the retention, and skips what a preview does not know yet", () => {
      const q = queue("q", { messageRetentionSeconds: 1209600 });
      const cache = queue("cache", { messageRetentionSeconds: 1209600 });
      assert.deepEqual(
        check("resource-alarms", [
          fn("f", { timeout: 30 }),
          ...fnAlarms("f"),
          q,
          ...queueAlarms("q", 604800),
          cache,
          ...queueAlarms("cache", 86400),
          api,
          api5xx,
        ]),
        [],
      );
      assert.deepEqual(
        check("resource-alarms", [api, { ...api5xx, props: { ...api5xx.props, arn: "arn:aws:cloudwatch:eu-west-2:1:alarm:a" } }]),
        [],
      );
      // A WebSocket API has no 5xx metric; a new resource's name or id is unknown in a real preview.
      const websocket = res("aws:apigatewayv2/api:Api", "ws", { id: "ws1", protocolType: "WEBSOCKET" });
      assert.deepEqual(
        check("resource-alarms", [
          websocket,
          fn("new", { name: undefined }),
          queue("new", { name: undefined }),
          res("aws:apigatewayv2/api:Api", "new", { protocolType: "HTTP" }),
        ]),
        [],
      );
    });
  });

  describe("consumed-queue-redrive", () => {
    const mapping = (q: PolicyResource) =>
      res("aws:lambda/eventSourceMapping:EventSourceMapping", "m", { eventSourceArn: q.props.arn, functionName: "f" });
    it("refuses a queue a Lambda consumes without a redrive policy, or with one that names no receive count", () => {
      const bare = queue("work");
      assert.match(check("consumed-queue-redrive", [bare, mapping(bare)])[0], /work: is consumed by a Lambda but has no redrive policy/);
      const noCount = queue("work2", { redrivePolicy: JSON.stringify({ deadLetterTargetArn: "arn:aws:sqs:eu-west-2:1:dlq" }) });
      assert.equal(check("consumed-queue-redrive", [noCount, mapping(noCount)]).length, 1);
    });
    it("accepts a redrive policy, and ignores queues nothing consumes", () => {
      const q = queue("work", {
        redrivePolicy: JSON.stringify({ deadLetterTargetArn: "arn:aws:sqs:eu-west-2:1:dlq", maxReceiveCount: 5 }),
      });
      assert.deepEqual(check("consumed-queue-redrive", [q, mapping(q), queue("unconsumed")]), []);
    });
  });

  describe("subscription-dead-letter-queue", () => {
    const subscription = (protocol: string, redrivePolicy?: string) =>
      res("aws:sns/topicSubscription:TopicSubscription", "s", { protocol, redrivePolicy });
    it("refuses a subscription to a queue or a function without a redrive policy", () => {
      assert.match(check("subscription-dead-letter-queue", [subscription("sqs")])[0], /delivers to sqs without a redrive policy/);
      assert.equal(check("subscription-dead-letter-queue", [subscription("lambda", "{}")]).length, 1);
    });
    it("accepts one with a redrive policy, and ignores e-mail subscriptions", () => {
      assert.deepEqual(
        check("subscription-dead-letter-queue", [
          subscription("sqs", JSON.stringify({ deadLetterTargetArn: "arn:aws:sqs:eu-west-2:1:dlq" })),
          subscription("email"),
        ]),
        [],
      );
    });
  });

  describe("queue-visibility-timeout", () => {
    const mapping = (q: PolicyResource, f: PolicyResource) =>
      res("aws:lambda/eventSourceMapping:EventSourceMapping", "m", { eventSourceArn: q.props.arn, functionName: f.props.arn });
    it("refuses a consumed queue whose visibility is under 6 times the consumer's timeout", () => {
      const f = fn("consumer", { timeout: 60 });
      const q = queue("work", { visibilityTimeoutSeconds: 300 });
      assert.match(check("queue-visibility-timeout", [f, q, mapping(q, f)])[0], /300 s is under 6 × 60 s/);
    });
    it("accepts 6 times or more", () => {
      const f = fn("consumer", { timeout: 60 });
      const q = queue("work", { visibilityTimeoutSeconds: 360 });
      assert.deepEqual(check("queue-visibility-timeout", [f, q, mapping(q, f)]), []);
    });
  });

  describe("lambda-log-retention", () => {
    it("refuses a function without its own log group, or one that keeps logs forever", () => {
      assert.match(check("lambda-log-retention", [fn("f")])[0], /no log group of its own \(f-logs\)/);
      assert.match(check("lambda-log-retention", [fn("f"), logGroup("f-logs", 0)])[0], /keeps logs forever/);
    });
    it("accepts a log group with retention, named in loggingConfig or /aws/lambda/<name>", () => {
      assert.deepEqual(check("lambda-log-retention", [fn("f"), logGroup("f-logs")]), []);
      assert.deepEqual(check("lambda-log-retention", [fn("g", { loggingConfig: undefined }), logGroup("/aws/lambda/g")]), []);
    });
  });

  describe("dynamodb-encryption-and-recovery", () => {
    const table = (props: Record<string, any>) => res("aws:dynamodb/table:Table", "t", { name: "t", ...props });
    it("refuses an unencrypted table, and one without point-in-time recovery in prod", () => {
      assert.match(check("dynamodb-encryption-and-recovery", [table({ pointInTimeRecovery: { enabled: true } })])[0], /not encrypted/);
      assert.match(
        check("dynamodb-encryption-and-recovery", [table({ serverSideEncryption: { enabled: true } })], "prod")[0],
        /no point-in-time recovery in prod/,
      );
    });
    it("accepts an encrypted table, with recovery in prod and without it elsewhere", () => {
      assert.deepEqual(check("dynamodb-encryption-and-recovery", [table({ serverSideEncryption: { enabled: true } })], "dev"), []);
      assert.deepEqual(
        check(
          "dynamodb-encryption-and-recovery",
          [table({ serverSideEncryption: { enabled: true }, pointInTimeRecovery: { enabled: true } })],
          "prod",
        ),
        [],
      );
    });
    it("leaves an adopted table that keeps its encryption and recovery to the advisory reminder, until its improvements apply", () => {
      const adopted = { ...table({}), ignoreChanges: ["serverSideEncryption", "pointInTimeRecovery", "tags", "tagsAll"] };
      assert.deepEqual(check("dynamodb-encryption-and-recovery", [adopted], "prod"), []);
      assert.match(
        check("adopted-pending-hardening", [adopted], "prod")[0],
        /is adopted and keeps its original's settings: opt in to encryption, pointInTimeRecovery/,
      );
      // A kept property does not excuse a table the stack created (no kept tags: not adopted).
      assert.equal(
        check("dynamodb-encryption-and-recovery", [{ ...table({}), ignoreChanges: ["serverSideEncryption"] }], "prod").length,
        2,
      );
    });
  });

  describe("s3-public-access-block", () => {
    const bucket = res("aws:s3/bucket:Bucket", "b", { id: "b-id", bucket: "b-name" });
    const block = (props: Record<string, any>) =>
      res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab", {
        bucket: "b-id",
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
        ...props,
      });
    it("refuses a bucket without a public access block, or with one left partly open", () => {
      assert.match(check("s3-public-access-block", [bucket])[0], /has no public access block/);
      assert.match(
        check("s3-public-access-block", [bucket, block({ restrictPublicBuckets: false })])[0],
        /leaves restrictPublicBuckets off/,
      );
    });
    it("accepts a bucket with every public access blocked", () => {
      assert.deepEqual(check("s3-public-access-block", [bucket, block({})]), []);
    });
    it("leaves an adopted bucket without a block to the advisory reminder, but not one left partly open", () => {
      const adopted = { ...bucket, ignoreChanges: ["tags", "tagsAll"] };
      assert.deepEqual(check("s3-public-access-block", [adopted]), []);
      assert.match(check("adopted-pending-hardening", [adopted])[0], /opt in to blockPublicAccess/);
      assert.match(check("s3-public-access-block", [adopted, block({ ignorePublicAcls: false })])[0], /leaves ignorePublicAcls off/);
    });
  });

  describe("tls-only-transport", () => {
    const ARN = "arn:aws:s3:::b-name";
    const bucket = () => res("aws:s3/bucket:Bucket", "b", { id: "b-name", bucket: "b-name", arn: ARN });
    const q = () => queue("q", { id: "https://sqs.eu-west-2.amazonaws.com/1/q", url: "https://sqs.eu-west-2.amazonaws.com/1/q" });
    const deny = (service: string, resources: string[], extra: Record<string, unknown> = {}) => ({
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: `${service}:*`,
      Resource: resources,
      Condition: { Bool: { "aws:SecureTransport": "false" } },
      ...extra,
    });
    const bucketPolicy = (statements: unknown[]) =>
      res("aws:s3/bucketPolicy:BucketPolicy", "bp", {
        bucket: "b-name",
        policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }),
      });
    const queuePolicy = (statements: unknown[]) =>
      res("aws:sqs/queuePolicy:QueuePolicy", "qp", {
        queueUrl: "https://sqs.eu-west-2.amazonaws.com/1/q",
        policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }),
      });

    it("refuses a bucket or queue the stack creates without a policy that denies requests not made over TLS", () => {
      assert.deepEqual(check("tls-only-transport", [bucket(), q()]), [
        "aws:s3/bucket:Bucket b: its policy has no statement denying s3:* to anyone when aws:SecureTransport is false",
        "aws:sqs/queue:Queue q: its policy has no statement denying sqs:* to anyone when aws:SecureTransport is false",
      ]);
      const grantOnly = {
        Effect: "Allow",
        Principal: { Service: "sns.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: "arn:aws:sqs:eu-west-2:1:q",
      };
      assert.equal(check("tls-only-transport", [q(), queuePolicy([grantOnly])]).length, 1);
    });

    it("refuses a deny that leaves part of the resource, another resource, or a condition other than the transport", () => {
      assert.equal(
        check("tls-only-transport", [bucket(), bucketPolicy([deny("s3", [ARN])])]).length,
        1,
        "the bucket's objects are left out",
      );
      assert.equal(check("tls-only-transport", [q(), queuePolicy([deny("sqs", ["arn:aws:sqs:eu-west-2:1:other"])])]).length, 1);
      assert.equal(
        check("tls-only-transport", [
          q(),
          queuePolicy([deny("sqs", ["arn:aws:sqs:eu-west-2:1:q"], { Condition: { Bool: { "aws:SecureTransport": "true" } } })]),
        ]).length,
        1,
      );
      assert.equal(
        check("tls-only-transport", [q(), queuePolicy([deny("sqs", ["arn:aws:sqs:eu-west-2:1:q"], { Action: "sqs:SendMessage" })])]).length,
        1,
      );
      assert.equal(
        check("tls-only-transport", [
          q(),
          queuePolicy([deny("sqs", ["arn:aws:sqs:eu-west-2:1:q"], { Principal: { Service: "sns.amazonaws.com" } })]),
        ]).length,
        1,
      );
    });

    it("accepts the deny in the resource's policy, beside other statements, or in the resource's own policy property", () => {
      assert.deepEqual(
        check("tls-only-transport", [
          bucket(),
          bucketPolicy([
            {
              Sid: "Read",
              Effect: "Allow",
              Principal: { Service: "cloudfront.amazonaws.com" },
              Action: "s3:GetObject",
              Resource: `${ARN}/*`,
            },
            deny("s3", [ARN, `${ARN}/*`]),
          ]),
        ]),
        [],
      );
      assert.deepEqual(
        check("tls-only-transport", [
          q(),
          queuePolicy([
            deny("sqs", ["arn:aws:sqs:eu-west-2:1:q"], { Principal: { AWS: "*" }, Condition: { Bool: { "aws:SecureTransport": false } } }),
          ]),
        ]),
        [],
      );
      assert.deepEqual(
        check("tls-only-transport", [
          queue("inline", { policy: JSON.stringify({ Statement: [deny("sqs", ["arn:aws:sqs:eu-west-2:1:inline"])] }) }),
        ]),
        [],
      );
    });

    it("leaves an adopted bucket or queue to the advisory reminder until tlsOnly applies, and then sees its deny", () => {
      const adopted = { ...q(), ignoreChanges: ["tags", "tagsAll"] };
      assert.deepEqual(check("tls-only-transport", [adopted]), []);
      assert.match(check("adopted-pending-hardening", [adopted])[0], /opt in to tlsOnly/);
      assert.deepEqual(check("adopted-pending-hardening", [adopted, queuePolicy([deny("sqs", ["arn:aws:sqs:eu-west-2:1:q"])])]), []);
    });
  });

  describe("no-secret-in-lambda-environment", () => {
    it("refuses an environment value marked secret, or equal to a SecureString's value", () => {
      assert.match(
        check("no-secret-in-lambda-environment", [fn("f", { environment: { variables: { TOKEN: SECRET_MARK } } })])[0],
        /TOKEN holds a secret/,
      );
      const parameter = res("aws:ssm/parameter:Parameter", "p", { type: "SecureString", value: "hunter2" });
      assert.match(
        check("no-secret-in-lambda-environment", [parameter, fn("f", { environment: { variables: { PASSWORD: "hunter2" } } })])[0],
        /PASSWORD holds a secret/,
      );
    });
    it("accepts parameter names and plain settings", () => {
      const parameter = res("aws:ssm/parameter:Parameter", "p", { name: "/app/token", type: "SecureString", value: "hunter2" });
      assert.deepEqual(
        check("no-secret-in-lambda-environment", [
          parameter,
          fn("f", { environment: { variables: { TOKEN_PARAM: "/app/token", TABLE: "t" } } }),
        ]),
        [],
      );
    });
  });

  describe("physical-name-length", () => {
    it("refuses names over AWS's limits and accepts those within", () => {
      assert.match(check("physical-name-length", [fn("f".repeat(65))])[0], /65 characters; the limit is 64/);
      assert.match(
        check("physical-name-length", [res("aws:cloudwatch/eventArchive:EventArchive", "a", { name: "a".repeat(49) })])[0],
        /limit is 48/,
      );
      assert.deepEqual(
        check("physical-name-length", [fn("f".repeat(64)), res("aws:s3/bucket:Bucket", "b", { bucket: "b".repeat(63) })]),
        [],
      );
    });
  });

  describe("lambda-runtime", () => {
    it("refuses runtimes older than nodejs22.x and accepts newer ones and images", () => {
      assert.match(check("lambda-runtime", [fn("old", { runtime: "nodejs20.x" })])[0], /nodejs20\.x is not nodejs22\.x or newer/);
      assert.equal(check("lambda-runtime", [fn("py", { runtime: "python3.12" })]).length, 1);
      assert.deepEqual(
        check("lambda-runtime", [fn("a"), fn("b", { runtime: "nodejs24.x" }), fn("c", { packageType: "Image", runtime: undefined })]),
        [],
      );
    });
  });

  it("lists mandatory violations first across rules", () => {
    const violations = checkStack([fn("f", { runtime: "nodejs18.x" })], { stage: "dev" });
    assert.deepEqual(violations.map((v) => v.rule).sort(), [
      "lambda-log-retention",
      "lambda-runtime",
      "resource-alarms",
      "resource-alarms",
      "resource-alarms",
    ]);
  });
});
