/**
 * The guard rails of every app, as plain functions over a stack's resources. The policy
 * pack (index.ts) runs them under `pulumi preview --policy-pack policy`; the tests and
 * `npm run preview` run the same functions over what the mock engine recorded.
 *
 * In a real preview some values (ARNs of resources not created yet) are unknown; a rule
 * that cannot resolve a reference skips it rather than report a false violation.
 */
import { DEAD_LETTER_RETENTION_SECONDS, DEAD_LETTER_TAG } from "../components/events/dead-letter-facts";
import { NODE_MAJOR } from "../components/lambda/runtime";
import type { Stage } from "../components/platform";

export interface PolicyResource {
  type: string;
  name: string;
  urn: string;
  /** The resource's properties (inputs and known outputs). */
  props: Record<string, any>;
  /** The properties the program keeps as they are (its `ignoreChanges`). */
  ignoreChanges?: string[];
}

/**
 * An adopted resource keeps its tags (the program adds `tagsAll` to its ignoreChanges, and to
 * nothing else's): the policy pack has no other view of an import.
 */
export function isAdopted(r: PolicyResource): boolean {
  return r.ignoreChanges?.includes("tagsAll") ?? false;
}

/** Whether an adopted resource still keeps `property` as its original has it (the improvement is not applied yet). */
function keeps(r: PolicyResource, property: string): boolean {
  return isAdopted(r) && (r.ignoreChanges?.includes(property) ?? false);
}

export type { Stage };

export interface PolicyContext {
  stage: Stage;
}

export interface Violation {
  rule: string;
  urn: string;
  message: string;
}

export interface Rule {
  name: string;
  description: string;
  enforcementLevel: "mandatory" | "advisory";
  check(resources: PolicyResource[], context: PolicyContext): Violation[];
}

/** How the offline runs show a secret value. */
export const SECRET_MARK = "[secret]";

/**
 * AWS actions that accept only `Resource: "*"`, each with the reason it is allowed. Any
 * other statement on `*` is a violation.
 */
export const STAR_RESOURCE_ALLOW_LIST: Record<string, string> = {
  "xray:PutTraceSegments": "X-Ray has no resource-level permissions for writing trace segments",
  "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions for telemetry",
  "ecr:GetAuthorizationToken": "an ECR login token is account-wide",
};

const T = {
  function: "aws:lambda/function:Function",
  permission: "aws:lambda/permission:Permission",
  invokeConfig: "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
  eventSourceMapping: "aws:lambda/eventSourceMapping:EventSourceMapping",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
  httpApi: "aws:apigatewayv2/api:Api",
  eventTarget: "aws:cloudwatch/eventTarget:EventTarget",
  schedule: "aws:scheduler/schedule:Schedule",
  queue: "aws:sqs/queue:Queue",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  table: "aws:dynamodb/table:Table",
  bucket: "aws:s3/bucket:Bucket",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  policy: "aws:iam/policy:Policy",
  parameter: "aws:ssm/parameter:Parameter",
};

const ofType = (resources: PolicyResource[], type: string) => resources.filter((r) => r.type === type);
const list = <V>(value: V | V[] | undefined): V[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const parse = (json: unknown): any => {
  if (typeof json !== "string") return json;
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
};

/** Finds the function a reference (name or ARN, possibly qualified) points at. */
function functionByRef(resources: PolicyResource[], ref: unknown): PolicyResource | undefined {
  if (typeof ref !== "string" || ref === "") return undefined;
  return ofType(resources, T.function).find((f) => ref === f.props.name || ref === f.props.arn || ref.startsWith(`${f.props.arn}:`));
}

const queueByArn = (resources: PolicyResource[], arn: unknown) =>
  typeof arn === "string" ? ofType(resources, T.queue).find((q) => q.props.arn === arn) : undefined;

function violation(rule: string, resource: PolicyResource, message: string): Violation {
  return { rule, urn: resource.urn, message: `${resource.type} ${resource.name}: ${message}` };
}

/**
 * Whether a policy statement is the TLS-only deny: `Deny` of every `service` action (`s3:*`,
 * `sqs:*`) to anyone, on the condition `aws:SecureTransport` false and no other.
 */
export function isTlsOnlyDeny(statement: any, service: "s3" | "sqs"): boolean {
  const principal = statement?.Principal;
  const anyone = principal === "*" || (list<string>(principal?.AWS).length === 1 && list<string>(principal?.AWS)[0] === "*");
  const condition = statement?.Condition;
  const onlyTransport =
    Object.keys(condition ?? {}).length === 1 &&
    Object.keys(condition?.Bool ?? {}).length === 1 &&
    String(condition?.Bool?.["aws:SecureTransport"]) === "false";
  const actions = list<string>(statement?.Action);
  return (
    statement?.Effect === "Deny" &&
    anyone &&
    onlyTransport &&
    actions.length === 1 &&
    actions[0] === `${service}:*` &&
    statement.NotAction === undefined &&
    statement.NotResource === undefined
  );
}

/** The resource policies the rules read, with the service of their actions. */
const RESOURCE_POLICIES: Record<string, "s3" | "sqs"> = { [T.bucketPolicy]: "s3", [T.queuePolicy]: "sqs" };

const iamNoWildcards: Rule = {
  name: "iam-no-wildcards",
  description:
    'No IAM statement allows Action "*", a "service:*" action, or Resource "*" (except the allow-listed actions); in bucket and queue policies, no statement names Principal "*" or a wildcard action but the TLS-only deny.',
  enforcementLevel: "mandatory",
  check(resources) {
    const out: Violation[] = [];
    for (const r of [...ofType(resources, T.rolePolicy), ...ofType(resources, T.policy)]) {
      const document = parse(r.props.policy);
      for (const [i, s] of list<any>(document?.Statement).entries()) {
        if (s.Effect !== "Allow") continue;
        const where = `statement ${s.Sid ?? i}`;
        if (s.NotAction !== undefined || s.NotResource !== undefined)
          out.push(violation(this.name, r, `${where} uses NotAction/NotResource`));
        const actions = list<string>(s.Action);
        for (const action of actions) {
          if (action === "*" || /:\*$/.test(action)) out.push(violation(this.name, r, `${where} allows the wildcard action ${action}`));
        }
        if (list<string>(s.Resource).includes("*") && !actions.every((a) => a in STAR_RESOURCE_ALLOW_LIST)) {
          out.push(
            violation(
              this.name,
              r,
              `${where} allows Resource "*" for ${actions.filter((a) => !(a in STAR_RESOURCE_ALLOW_LIST)).join(", ")}`,
            ),
          );
        }
      }
    }
    // A resource policy names who it applies to: anyone ("*") only in the TLS-only deny.
    for (const r of resources.filter((x) => x.type in RESOURCE_POLICIES)) {
      const document = parse(r.props.policy);
      for (const [i, s] of list<any>(document?.Statement).entries()) {
        if (isTlsOnlyDeny(s, RESOURCE_POLICIES[r.type])) continue;
        const where = `statement ${s.Sid ?? i}`;
        const principals = s.Principal === "*" ? ["*"] : list<string>(s.Principal?.AWS);
        if (principals.includes("*")) out.push(violation(this.name, r, `${where} names Principal "*": only the TLS-only deny may`));
        for (const action of list<string>(s.Action)) {
          if (action === "*" || /:\*$/.test(action))
            out.push(violation(this.name, r, `${where} names the wildcard action ${action}: only the TLS-only deny may`));
        }
        if (s.NotAction !== undefined || s.NotPrincipal !== undefined)
          out.push(violation(this.name, r, `${where} uses NotAction/NotPrincipal`));
      }
    }
    return out;
  },
};

const ASYNC_PRINCIPALS = ["sns.amazonaws.com", "events.amazonaws.com", "s3.amazonaws.com", "scheduler.amazonaws.com"];

const asyncFailureDestination: Rule = {
  name: "async-lambda-failure-destination",
  description: "Every Lambda invoked asynchronously (SNS, EventBridge, Scheduler, S3) has an on-failure destination or a DLQ.",
  enforcementLevel: "mandatory",
  check(resources) {
    const invoked = new Map<string, PolicyResource>();
    for (const p of ofType(resources, T.permission)) {
      if (!ASYNC_PRINCIPALS.includes(p.props.principal)) continue;
      const fn = functionByRef(resources, p.props.function);
      if (fn) invoked.set(fn.urn, fn);
    }
    for (const target of [
      ...ofType(resources, T.eventTarget).map((t) => t.props.arn),
      ...ofType(resources, T.schedule).map((s) => s.props.target?.arn),
    ]) {
      const fn = functionByRef(resources, target);
      if (fn) invoked.set(fn.urn, fn);
    }
    const out: Violation[] = [];
    for (const fn of invoked.values()) {
      const hasDlq = Boolean(fn.props.deadLetterConfig?.targetArn);
      const hasDestination = ofType(resources, T.invokeConfig).some(
        (c) => functionByRef(resources, c.props.functionName) === fn && Boolean(c.props.destinationConfig?.onFailure?.destination),
      );
      if (!hasDlq && !hasDestination)
        out.push(violation(this.name, fn, "is invoked asynchronously but has no on-failure destination or dead-letter queue"));
    }
    return out;
  },
};

const targetDeadLetter: Rule = {
  name: "target-dead-letter-queue",
  description: "Every EventBridge target and Scheduler target has a dead-letter queue.",
  enforcementLevel: "mandatory",
  check(resources) {
    return [
      ...ofType(resources, T.eventTarget)
        .filter((t) => !t.props.deadLetterConfig?.arn)
        .map((t) => violation(this.name, t, "has no dead-letter queue")),
      ...ofType(resources, T.schedule)
        .filter((s) => !s.props.target?.deadLetterConfig?.arn)
        .map((s) => violation(this.name, s, "its target has no dead-letter queue")),
    ];
  },
};

/** Every queue that receives failed events: tagged as such, or referenced by a failure setting. */
export function deadLetterQueues(resources: PolicyResource[]): PolicyResource[] {
  const found = new Map<string, PolicyResource>();
  for (const q of ofType(resources, T.queue)) if (q.props.tags?.[DEAD_LETTER_TAG]) found.set(q.urn, q);
  const refs = [
    ...ofType(resources, T.eventTarget).map((t) => t.props.deadLetterConfig?.arn),
    ...ofType(resources, T.schedule).map((s) => s.props.target?.deadLetterConfig?.arn),
    ...ofType(resources, T.invokeConfig).map((c) => c.props.destinationConfig?.onFailure?.destination),
    ...ofType(resources, T.function).map((f) => f.props.deadLetterConfig?.targetArn),
    ...ofType(resources, T.queue).map((q) => parse(q.props.redrivePolicy)?.deadLetterTargetArn),
    ...ofType(resources, T.subscription).map((s) => parse(s.props.redrivePolicy)?.deadLetterTargetArn),
  ];
  for (const arn of refs) {
    const q = queueByArn(resources, arn);
    if (q) found.set(q.urn, q);
  }
  return [...found.values()];
}

const deadLetterRetentionAndAlarm: Rule = {
  name: "dead-letter-retention-and-alarm",
  description: "Every dead-letter queue is tagged as one (unless adopted), keeps messages 14 days and has an alarm on its depth.",
  enforcementLevel: "mandatory",
  check(resources) {
    const out: Violation[] = [];
    for (const q of deadLetterQueues(resources)) {
      // In a real preview a new queue's ARN is unknown: only the tag finds it there. An adopted
      // queue keeps its own tags, and its ARN is known: its source's redrive policy finds it.
      if (!q.props.tags?.[DEAD_LETTER_TAG] && !isAdopted(q))
        out.push(violation(this.name, q, `is a dead-letter queue without the tag ${DEAD_LETTER_TAG}`));
      if (q.props.messageRetentionSeconds !== DEAD_LETTER_RETENTION_SECONDS) {
        out.push(
          violation(
            this.name,
            q,
            `keeps messages ${q.props.messageRetentionSeconds ?? "the default 345600"} s, not ${DEAD_LETTER_RETENTION_SECONDS} (14 days)`,
          ),
        );
      }
      const alarmed = ofType(resources, T.alarm).some(
        (a) =>
          a.props.namespace === "AWS/SQS" &&
          a.props.metricName === "ApproximateNumberOfMessagesVisible" &&
          a.props.dimensions?.QueueName === q.props.name,
      );
      if (!alarmed) out.push(violation(this.name, q, "has no alarm on its depth (ApproximateNumberOfMessagesVisible)"));
    }
    return out;
  },
};

/** The metrics every function, queue and HTTP API has an alarm on, by namespace and the dimension naming the resource. */
export const ALARMED_METRICS = {
  function: { namespace: "AWS/Lambda", dimension: "FunctionName", metrics: ["Errors", "Throttles", "Duration"] },
  queue: { namespace: "AWS/SQS", dimension: "QueueName", metrics: ["ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible"] },
  httpApi: { namespace: "AWS/ApiGateway", dimension: "ApiId", metrics: ["5xx"] },
} as const;

/** What SQS keeps a message for when a queue sets nothing else. */
const SQS_DEFAULT_RETENTION_SECONDS = 345_600;

const resourceAlarms: Rule = {
  name: "resource-alarms",
  description:
    "Every Lambda has errors, throttles and duration alarms (duration below its timeout), every SQS queue an age alarm (at most half its retention) and a depth alarm, every HTTP API a 5xx alarm, and every alarm notifies a topic in its own region when it fires and when it recovers.",
  enforcementLevel: "mandatory",
  check(resources) {
    const alarms = ofType(resources, T.alarm);
    const out: Violation[] = [];
    /** The alarms on one resource's metrics; undefined when its identifier is not known yet (a real preview of a new resource). */
    const alarmsOf = (r: PolicyResource, watched: (typeof ALARMED_METRICS)[keyof typeof ALARMED_METRICS], id: unknown) => {
      if (typeof id !== "string" || id === "") return undefined;
      const on = alarms.filter((a) => a.props.namespace === watched.namespace && a.props.dimensions?.[watched.dimension] === id);
      for (const metric of watched.metrics) {
        if (!on.some((a) => a.props.metricName === metric))
          out.push(violation(this.name, r, `has no alarm on ${watched.namespace} ${metric}`));
      }
      return on;
    };
    for (const fn of ofType(resources, T.function)) {
      const duration = alarmsOf(fn, ALARMED_METRICS.function, fn.props.name)?.find((a) => a.props.metricName === "Duration");
      const timeoutMs = (fn.props.timeout ?? 3) * 1000;
      if (duration && typeof duration.props.threshold === "number" && duration.props.threshold >= timeoutMs) {
        out.push(
          violation(this.name, fn, `its duration alarm fires at ${duration.props.threshold} ms, not before its ${timeoutMs} ms timeout`),
        );
      }
    }
    for (const q of ofType(resources, T.queue)) {
      const age = alarmsOf(q, ALARMED_METRICS.queue, q.props.name)?.find((a) => a.props.metricName === "ApproximateAgeOfOldestMessage");
      const retention = q.props.messageRetentionSeconds ?? SQS_DEFAULT_RETENTION_SECONDS;
      if (age && typeof age.props.threshold === "number" && age.props.threshold > retention / 2) {
        out.push(violation(this.name, q, `its age alarm fires at ${age.props.threshold} s, after half its ${retention} s retention`));
      }
    }
    for (const api of ofType(resources, T.httpApi).filter((a) => a.props.protocolType === "HTTP"))
      alarmsOf(api, ALARMED_METRICS.httpApi, api.props.id);
    const regionOf = (arn: unknown) => (typeof arn === "string" && arn.startsWith("arn:") ? arn.split(":")[3] : undefined);
    for (const a of alarms) {
      const actions = [...list<unknown>(a.props.alarmActions), ...list<unknown>(a.props.okActions)];
      if (list(a.props.alarmActions).length === 0 || list(a.props.okActions).length === 0)
        out.push(violation(this.name, a, "notifies no one when it fires or when it recovers (alarmActions, okActions)"));
      // CloudWatch refuses an SNS action in another region than the alarm's.
      const region = regionOf(a.props.arn);
      const elsewhere = actions.filter((arn) => region && regionOf(arn) && regionOf(arn) !== region);
      if (elsewhere.length > 0)
        out.push(
          violation(
            this.name,
            a,
            `is in ${region} but notifies ${[...new Set(elsewhere)].join(", ")}: CloudWatch notifies only a topic in the alarm's region`,
          ),
        );
    }
    return out;
  },
};

const consumedQueueRedrive: Rule = {
  name: "consumed-queue-redrive",
  description:
    "Every SQS queue a Lambda consumes moves a message that keeps failing to a dead-letter queue (a redrive policy with maxReceiveCount).",
  enforcementLevel: "mandatory",
  check(resources) {
    const out: Violation[] = [];
    for (const m of ofType(resources, T.eventSourceMapping)) {
      const q = queueByArn(resources, m.props.eventSourceArn);
      if (!q) continue;
      const redrive = parse(q.props.redrivePolicy);
      if (!redrive?.deadLetterTargetArn || !(redrive.maxReceiveCount >= 1)) {
        out.push(
          violation(
            this.name,
            q,
            "is consumed by a Lambda but has no redrive policy to a dead-letter queue: a message that keeps failing would be retried until it expires",
          ),
        );
      }
    }
    return out;
  },
};

const subscriptionDeadLetter: Rule = {
  name: "subscription-dead-letter-queue",
  description: "Every SNS subscription to a queue or a function has a dead-letter queue for what SNS cannot deliver (a redrive policy).",
  enforcementLevel: "mandatory",
  check(resources) {
    return ofType(resources, T.subscription)
      .filter((s) => ["sqs", "lambda"].includes(s.props.protocol) && !parse(s.props.redrivePolicy)?.deadLetterTargetArn)
      .map((s) =>
        violation(this.name, s, `delivers to ${s.props.protocol} without a redrive policy: a message SNS cannot deliver would be lost`),
      );
  },
};

const queueVisibility: Rule = {
  name: "queue-visibility-timeout",
  description: "Every SQS queue consumed by a Lambda has a visibility timeout of at least 6 times that function's timeout.",
  enforcementLevel: "mandatory",
  check(resources) {
    const out: Violation[] = [];
    for (const m of ofType(resources, T.eventSourceMapping)) {
      const q = queueByArn(resources, m.props.eventSourceArn);
      const fn = functionByRef(resources, m.props.functionName);
      if (!q || !fn) continue;
      const timeout = fn.props.timeout ?? 3;
      const visibility = q.props.visibilityTimeoutSeconds ?? 30;
      if (visibility < 6 * timeout) {
        out.push(
          violation(this.name, q, `visibility timeout ${visibility} s is under 6 × ${timeout} s, the timeout of its consumer ${fn.name}`),
        );
      }
    }
    return out;
  },
};

const lambdaLogRetention: Rule = {
  name: "lambda-log-retention",
  description: "Every Lambda has a log group with retention set.",
  enforcementLevel: "mandatory",
  check(resources) {
    return ofType(resources, T.function).flatMap((fn) => {
      const groupName = fn.props.loggingConfig?.logGroup ?? (fn.props.name ? `/aws/lambda/${fn.props.name}` : undefined);
      if (groupName === undefined) return [];
      const group = ofType(resources, T.logGroup).find((g) => g.props.name === groupName);
      if (!group) return [violation(this.name, fn, `has no log group of its own (${groupName})`)];
      if (!(group.props.retentionInDays > 0)) return [violation(this.name, fn, `its log group ${groupName} keeps logs forever`)];
      return [];
    });
  },
};

const dynamoEncryptionAndRecovery: Rule = {
  name: "dynamodb-encryption-and-recovery",
  description: "Every DynamoDB table is encrypted, and has point-in-time recovery in prod (an adopted table once its improvements apply).",
  enforcementLevel: "mandatory",
  check(resources, context) {
    return ofType(resources, T.table).flatMap((t) => [
      ...(t.props.serverSideEncryption?.enabled === true || keeps(t, "serverSideEncryption")
        ? []
        : [violation(this.name, t, "is not encrypted with a KMS key (serverSideEncryption.enabled)")]),
      ...(context.stage === "prod" && t.props.pointInTimeRecovery?.enabled !== true && !keeps(t, "pointInTimeRecovery")
        ? [violation(this.name, t, "has no point-in-time recovery in prod")]
        : []),
    ]);
  },
};

/** The improvements an adopted resource still waits for, per property it keeps. */
const PENDING_IMPROVEMENTS: Record<string, Record<string, string>> = {
  [T.table]: {
    serverSideEncryption: "encryption",
    pointInTimeRecovery: "pointInTimeRecovery",
    deletionProtectionEnabled: "deletionProtection",
  },
  "aws:sns/topic:Topic": { kmsMasterKeyId: "encryption" },
  [T.queue]: { sqsManagedSseEnabled: "encryption" },
  "aws:ecr/repository:Repository": { imageTagMutability: "immutableImageTags", imageScanningConfiguration: "scanImagesOnPush" },
};

const adoptedPendingHardening: Rule = {
  name: "adopted-pending-hardening",
  description:
    "Adopted resources that still keep their original's settings where an improvement is available (apply it after the cutover).",
  enforcementLevel: "advisory",
  check(resources) {
    const out: Violation[] = [];
    for (const r of resources.filter(isAdopted)) {
      const pending = Object.entries(PENDING_IMPROVEMENTS[r.type] ?? {})
        .filter(([property]) => keeps(r, property))
        .map(([, improvement]) => improvement);
      if (r.type === T.bucket && !hasPublicAccessBlock(resources, r)) pending.push("blockPublicAccess");
      if ((r.type === T.bucket || r.type === T.queue) && !deniesInsecureTransport(resources, r)) pending.push("tlsOnly");
      if (pending.length > 0)
        out.push(
          violation(
            this.name,
            r,
            `is adopted and keeps its original's settings: opt in to ${[...new Set(pending)].join(", ")} in its app's hardening after the cutover`,
          ),
        );
    }
    return out;
  },
};

function publicAccessBlockOf(resources: PolicyResource[], b: PolicyResource): PolicyResource | undefined {
  return ofType(resources, T.publicAccessBlock).find(
    (p) => p.props.bucket !== undefined && (p.props.bucket === b.props.id || p.props.bucket === b.props.bucket),
  );
}

function hasPublicAccessBlock(resources: PolicyResource[], b: PolicyResource): boolean {
  return publicAccessBlockOf(resources, b) !== undefined;
}

const s3PublicAccessBlock: Rule = {
  name: "s3-public-access-block",
  description: "Every S3 bucket blocks public access (an adopted bucket once its blockPublicAccess improvement applies).",
  enforcementLevel: "mandatory",
  check(resources) {
    return ofType(resources, T.bucket).flatMap((b) => {
      const block = publicAccessBlockOf(resources, b);
      const flags = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];
      if (!block && isAdopted(b)) return [];
      if (!block) return [violation(this.name, b, "has no public access block")];
      const open = flags.filter((f) => block.props[f] !== true);
      return open.length > 0 ? [violation(this.name, b, `its public access block leaves ${open.join(", ")} off`)] : [];
    });
  },
};

/** The policies that apply to a bucket or queue: its own `policy` and the BucketPolicy/QueuePolicy resources that name it. */
function policiesOf(resources: PolicyResource[], r: PolicyResource): unknown[] {
  const attached =
    r.type === T.bucket
      ? ofType(resources, T.bucketPolicy).filter(
          (p) => p.props.bucket !== undefined && (p.props.bucket === r.props.id || p.props.bucket === r.props.bucket),
        )
      : ofType(resources, T.queuePolicy).filter(
          (p) => p.props.queueUrl !== undefined && (p.props.queueUrl === r.props.url || p.props.queueUrl === r.props.id),
        );
  return [r.props.policy, ...attached.map((p) => p.props.policy)].map(parse).filter((d) => d);
}

/** Whether a bucket's or queue's policies deny every request to it that is not made over TLS. */
export function deniesInsecureTransport(resources: PolicyResource[], r: PolicyResource): boolean {
  const service = r.type === T.bucket ? "s3" : "sqs";
  const needed = r.type === T.bucket ? [r.props.arn, `${r.props.arn}/*`] : [r.props.arn];
  return policiesOf(resources, r).some((document: any) =>
    list<any>(document.Statement).some(
      (s) =>
        isTlsOnlyDeny(s, service) && needed.every((arn) => list<string>(s.Resource).some((covered) => covered === arn || covered === "*")),
    ),
  );
}

const tlsOnlyTransport: Rule = {
  name: "tls-only-transport",
  description:
    "Every S3 bucket and SQS queue the stack creates denies requests not made over TLS (aws:SecureTransport); an adopted one once its tlsOnly improvement applies.",
  enforcementLevel: "mandatory",
  check(resources) {
    return [...ofType(resources, T.bucket), ...ofType(resources, T.queue)]
      .filter((r) => !isAdopted(r) && !deniesInsecureTransport(resources, r))
      .map((r) =>
        violation(
          this.name,
          r,
          `its policy has no statement denying ${r.type === T.bucket ? "s3" : "sqs"}:* to anyone when aws:SecureTransport is false`,
        ),
      );
  },
};

const noSecretInEnvironment: Rule = {
  name: "no-secret-in-lambda-environment",
  description: "No Lambda environment variable holds a value that came from a config secret.",
  enforcementLevel: "mandatory",
  check(resources) {
    // In a real preview secrets arrive unwrapped: compare with the values kept in SecureStrings.
    const secretValues = new Set(
      ofType(resources, T.parameter)
        .filter((p) => p.props.type === "SecureString" && typeof p.props.value === "string" && p.props.value !== SECRET_MARK)
        .map((p) => p.props.value as string),
    );
    return ofType(resources, T.function).flatMap((fn) =>
      Object.entries<unknown>(fn.props.environment?.variables ?? {})
        .filter(([, value]) => value === SECRET_MARK || (typeof value === "string" && secretValues.has(value)))
        .map(([key]) => violation(this.name, fn, `environment variable ${key} holds a secret; pass the name of its SSM parameter instead`)),
    );
  },
};

/** AWS's limits on physical names, per resource type and name property. */
export const NAME_LIMITS: Record<string, { property: string; max: number }> = {
  [T.function]: { property: "name", max: 64 },
  "aws:iam/role:Role": { property: "name", max: 64 },
  [T.policy]: { property: "name", max: 128 },
  [T.queue]: { property: "name", max: 80 },
  "aws:sns/topic:Topic": { property: "name", max: 256 },
  [T.table]: { property: "name", max: 255 },
  [T.bucket]: { property: "bucket", max: 63 },
  [T.logGroup]: { property: "name", max: 512 },
  "aws:cloudwatch/eventRule:EventRule": { property: "name", max: 64 },
  "aws:cloudwatch/eventBus:EventBus": { property: "name", max: 256 },
  "aws:cloudwatch/eventArchive:EventArchive": { property: "name", max: 48 },
  [T.schedule]: { property: "name", max: 64 },
  "aws:ecr/repository:Repository": { property: "name", max: 256 },
  [T.parameter]: { property: "name", max: 2048 },
  "aws:apigatewayv2/api:Api": { property: "name", max: 128 },
  "aws:cognito/userPool:UserPool": { property: "name", max: 128 },
  "aws:cognito/userPoolDomain:UserPoolDomain": { property: "domain", max: 63 },
  [T.alarm]: { property: "name", max: 255 },
  [T.dashboard]: { property: "dashboardName", max: 255 },
};

const nameLengths: Rule = {
  name: "physical-name-length",
  description: "Physical names stay within AWS's length limits.",
  enforcementLevel: "mandatory",
  check(resources) {
    return resources.flatMap((r) => {
      const limit = NAME_LIMITS[r.type];
      const value = limit && r.props[limit.property];
      return typeof value === "string" && value.length > limit.max
        ? [violation(this.name, r, `${limit.property} "${value}" is ${value.length} characters; the limit is ${limit.max}`)]
        : [];
    });
  },
};

/** The oldest Node.js runtime allowed: the one the program targets. */
export const MINIMUM_NODE_RUNTIME = NODE_MAJOR;

const lambdaRuntime: Rule = {
  name: "lambda-runtime",
  description: `Every Lambda runtime is nodejs${MINIMUM_NODE_RUNTIME}.x or newer.`,
  enforcementLevel: "mandatory",
  check(resources) {
    return ofType(resources, T.function)
      .filter((fn) => fn.props.packageType !== "Image")
      .flatMap((fn) => {
        const major = /^nodejs(\d+)\.x$/.exec(String(fn.props.runtime))?.[1];
        return major !== undefined && Number(major) >= MINIMUM_NODE_RUNTIME
          ? []
          : [violation(this.name, fn, `runtime ${fn.props.runtime ?? "(none)"} is not nodejs${MINIMUM_NODE_RUNTIME}.x or newer`)];
      });
  },
};

export const RULES: Rule[] = [
  iamNoWildcards,
  asyncFailureDestination,
  targetDeadLetter,
  deadLetterRetentionAndAlarm,
  resourceAlarms,
  consumedQueueRedrive,
  subscriptionDeadLetter,
  queueVisibility,
  lambdaLogRetention,
  dynamoEncryptionAndRecovery,
  s3PublicAccessBlock,
  tlsOnlyTransport,
  noSecretInEnvironment,
  nameLengths,
  lambdaRuntime,
  adoptedPendingHardening,
];

/** Every violation of every rule, mandatory ones first. */
export function checkStack(
  resources: PolicyResource[],
  context: PolicyContext,
  rules: Rule[] = RULES,
): (Violation & { enforcementLevel: Rule["enforcementLevel"] })[] {
  return rules
    .flatMap((rule) => rule.check(resources, context).map((v) => ({ ...v, enforcementLevel: rule.enforcementLevel })))
    .sort((a, b) => (a.enforcementLevel === b.enforcementLevel ? 0 : a.enforcementLevel === "mandatory" ? -1 : 1));
}
