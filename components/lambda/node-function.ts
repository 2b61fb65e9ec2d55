import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { COMMON_ENV } from "../../handlers/lib/env-names";
import type { DeadLetterQueue } from "../events/dead-letter-queue";
import { type FunctionMonitoring, functionAlarms } from "../monitoring/alarms";
import { type PolicyStatement, policyDocument, trustPolicy } from "../iam";
import type { Platform } from "../platform";
import { BUNDLE_FILE, type Bundle, bundleSoon, LAMBDA_HANDLER } from "./bundle";
import { LAMBDA_ASYNC_RETRY_LIMITS, type RetryBounds } from "../retry-bounds";
import { LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME } from "./runtime";
import { SECRETS_EXTENSION_ENVIRONMENT, secretsExtensionLayer } from "./secrets-extension";

/** How Lambda retries an asynchronous invocation (SNS, S3) and where the event goes when it gives up. */
export interface AsyncInvocationArgs extends RetryBounds {
  /**
   * How a failed event is kept in `failureQueue`:
   * - `on-failure-destination`: an invocation record with the event, the error and the attempt count;
   * - `dead-letter-queue`: the event alone, as the function's dead-letter queue.
   * @default "on-failure-destination"
   */
  failureTarget?: "on-failure-destination" | "dead-letter-queue";
  /** The app's failure queue, so that all failures of an app land in one place. */
  failureQueue: DeadLetterQueue;
}

/**
 * Lambda's own retries for a function whose event source also retries (EventBridge,
 * Scheduler): the source's bounds, clamped to what Lambda allows, with failures kept in
 * `failureQueue`.
 */
export function asyncRetryWithin(delivery: RetryBounds, failureQueue: DeadLetterQueue): AsyncInvocationArgs {
  return {
    maximumRetryAttempts: Math.min(delivery.maximumRetryAttempts, LAMBDA_ASYNC_RETRY_LIMITS.maximumRetryAttempts),
    maximumEventAgeSeconds: Math.min(delivery.maximumEventAgeSeconds, LAMBDA_ASYNC_RETRY_LIMITS.maximumEventAgeSeconds),
    failureQueue,
  };
}

/** A function's timeout when its sizing gives none. */
export const DEFAULT_TIMEOUT_SECONDS = 30;
/** A function's memory when its sizing gives none. */
const DEFAULT_MEMORY_SIZE_MB = 256;
/** How a failed asynchronous event is kept when AsyncInvocationArgs.failureTarget gives none. */
const DEFAULT_FAILURE_TARGET = "on-failure-destination";

const timeoutOf = (sizing: FunctionSizing) => sizing.timeout ?? DEFAULT_TIMEOUT_SECONDS;
const failureTargetOf = (args: FunctionSettingsArgs) => args.asyncInvocation?.failureTarget ?? DEFAULT_FAILURE_TARGET;

/** A function's size and concurrency: what each app's `function` config block sets. */
export interface FunctionSizing {
  /** Memory in MB. @default 256 */
  memorySize?: number;
  /** Timeout in seconds. @default DEFAULT_TIMEOUT_SECONDS (30) */
  timeout?: number;
  /** Reserved concurrency. @default none: the function draws on the account's unreserved pool. */
  reservedConcurrency?: number;
  /** Active X-Ray tracing. @default false */
  tracing?: boolean;
}

/** What every function variant takes besides its code. */
export interface FunctionSettingsArgs extends FunctionSizing {
  /** Environment variables, besides the service name every function gets. Never put a secret here: pass the name of its SSM parameter instead. */
  environment?: Record<string, pulumi.Input<string>>;
  /** The function's permissions beyond writing its own logs. Only these statements are added to its role. @default none */
  statements?: PolicyStatement[];
  /** The stage's log retention and alarm settings. */
  platform: Platform;
  /** Retry bounds and failure queue for asynchronous invocations. @default none: for functions only called synchronously or by pollers. */
  asyncInvocation?: AsyncInvocationArgs;
  /** Run inside a VPC (to reach a database there): its subnets and security groups. @default none: outside any VPC. */
  vpc?: { subnetIds: pulumi.Input<string>[]; securityGroupIds: pulumi.Input<string>[] };
  /** The function's description, shown in the console. @default none */
  description?: string;
}

/**
 * AWS's managed policy for a function in a VPC: the network interfaces Lambda makes in its
 * subnets. Their actions take no resource-level permission, which is why it is AWS's own.
 */
export const VPC_ACCESS_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole";

export interface NodeFunctionArgs extends FunctionSettingsArgs {
  /** The function's name: `handlers/<app>/functions/<handler>.ts` is bundled. */
  handler: string;
  /** Another entry file relative to the repository root (tests use fixtures). @default `handlers/<app>/functions/<handler>.ts` */
  entry?: string;
  /**
   * Use the runtime's AWS SDK instead of bundling it (see BundleRequest.runtimeAwsSdk): a
   * smaller zip that loads slower, for a function whose bundle would pass Lambda's limits.
   * @default false
   */
  runtimeAwsSdk?: boolean;
  /**
   * The function reads secrets from SSM (handlers/lib/secrets.ts): it runs with the AWS
   * Parameters and Secrets Lambda Extension's layer for the platform's region, with the
   * extension's cache off. The read permissions come with `statements`, as for any action.
   * @default false
   */
  readsSecrets?: boolean;
}

export interface NodeImageFunctionArgs extends FunctionSettingsArgs {
  /** The function's name, as in `handlers/<app>/functions/<handler>.ts`: the service it logs as. */
  handler: string;
  /** The function's image in ECR (see imageContext), for example `awsx.ecr.Image.imageUri`. */
  imageUri: pulumi.Input<string>;
}

type FunctionCode =
  | {
      packageType: "Zip";
      code: pulumi.Input<pulumi.asset.Archive>;
      handler: string;
      serviceName: string;
      layers?: string[];
      environment?: Record<string, string>;
    }
  | { packageType: "Image"; imageUri: pulumi.Input<string>; serviceName: string };

/** The statements that let a function write to its own log group, and nothing else. */
function logStatement(logGroupArn: pulumi.Input<string>): PolicyStatement {
  return {
    Sid: "WriteOwnLogs",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: [pulumi.interpolate`${logGroupArn}:*`],
  };
}

/**
 * X-Ray accepts trace segments only with `Resource: "*"`: these two actions have no
 * resource-level permissions. They are on the policy pack's allow-list for that reason.
 */
const TRACING_STATEMENT: PolicyStatement = {
  Sid: "WriteTraces",
  Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
  Resource: ["*"],
};

/**
 * The parts every Lambda of the program has, whatever its package type: its own role with
 * only the statements it is given, a log group with the stage's retention, errors, throttles
 * and duration alarms, and, for asynchronous invocations, retry bounds and a failure queue.
 */
abstract class LambdaComponent extends pulumi.ComponentResource {
  readonly function: aws.lambda.Function;
  readonly role: aws.iam.Role;
  readonly rolePolicy: aws.iam.RolePolicy;
  readonly vpcAccess?: aws.iam.RolePolicyAttachment;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly errorsAlarm: aws.cloudwatch.MetricAlarm;
  /** Its errors, throttles and duration alarms, and what its app's dashboard shows of it. */
  readonly monitoring: FunctionMonitoring;
  /** The queue that keeps events whose asynchronous invocation failed, when asyncInvocation is set. */
  readonly failureQueue?: DeadLetterQueue;
  readonly eventInvokeConfig?: aws.lambda.FunctionEventInvokeConfig;
  readonly arn: pulumi.Output<string>;
  readonly functionName: pulumi.Output<string>;

  protected constructor(
    type: string,
    name: string,
    args: FunctionSettingsArgs,
    code: FunctionCode,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(type, name, {}, opts);
    this.failureQueue = args.asyncInvocation?.failureQueue;
    this.logGroup = this.createLogGroup(name, args);
    this.role = this.createRole(name);
    this.rolePolicy = this.createRolePolicy(name, args);
    if (args.vpc) this.vpcAccess = this.createVpcAccess(name);
    this.function = this.createFunction(name, args, code);
    this.arn = this.function.arn;
    this.functionName = this.function.name;
    if (args.asyncInvocation && this.failureQueue) this.eventInvokeConfig = this.createEventInvokeConfig(name, args.asyncInvocation);
    this.monitoring = functionAlarms(name, { functionName: this.function.name, timeoutSeconds: timeoutOf(args) }, args.platform.alarming, {
      parent: this,
    });
    this.errorsAlarm = this.monitoring.alarms[0];
  }

  /** The function's log group, with the stage's retention. */
  private createLogGroup(name: string, args: FunctionSettingsArgs): aws.cloudwatch.LogGroup {
    return new aws.cloudwatch.LogGroup(`${name}-logs`, { retentionInDays: args.platform.logRetentionDays }, { parent: this });
  }

  /** The function's own execution role, which only Lambda may assume. */
  private createRole(name: string): aws.iam.Role {
    return new aws.iam.Role(
      `${name}-role`,
      {
        description: `Execution role of the ${name} function`,
        assumeRolePolicy: trustPolicy("lambda.amazonaws.com"),
      },
      { parent: this },
    );
  }

  /** The role's one inline policy: writing its own logs, the statements it is given, keeping failed events, tracing. */
  private createRolePolicy(name: string, args: FunctionSettingsArgs): aws.iam.RolePolicy {
    const statements: PolicyStatement[] = [logStatement(this.logGroup.arn), ...(args.statements ?? [])];
    if (this.failureQueue) {
      // Lambda sends to the failure queue with the function's own role, for both target kinds.
      statements.push({ Sid: "KeepFailedEvents", Action: ["sqs:SendMessage"], Resource: [this.failureQueue.arn] });
    }
    if (args.tracing) statements.push(TRACING_STATEMENT);
    return new aws.iam.RolePolicy(`${name}-policy`, { role: this.role.id, policy: policyDocument(statements) }, { parent: this });
  }

  /** AWS's managed policy for the network interfaces of a function in a VPC. */
  private createVpcAccess(name: string): aws.iam.RolePolicyAttachment {
    return new aws.iam.RolePolicyAttachment(
      `${name}-vpc-access`,
      { role: this.role.name, policyArn: VPC_ACCESS_POLICY_ARN },
      { parent: this },
    );
  }

  /** The function itself, from a zip bundle or an image, logging as JSON to its log group. */
  private createFunction(name: string, args: FunctionSettingsArgs, code: FunctionCode): aws.lambda.Function {
    const packageArgs: Partial<aws.lambda.FunctionArgs> =
      code.packageType === "Zip"
        ? { packageType: "Zip", code: code.code, handler: code.handler, runtime: LAMBDA_RUNTIME, layers: code.layers }
        : { packageType: "Image", imageUri: code.imageUri };
    return new aws.lambda.Function(
      name,
      {
        ...packageArgs,
        description: args.description,
        role: this.role.arn,
        architectures: [LAMBDA_ARCHITECTURE],
        memorySize: args.memorySize ?? DEFAULT_MEMORY_SIZE_MB,
        timeout: timeoutOf(args),
        environment: {
          variables: {
            [COMMON_ENV.serviceName]: code.serviceName,
            ...(code.packageType === "Zip" ? code.environment : {}),
            ...args.environment,
          },
        },
        loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name },
        tracingConfig: args.tracing ? { mode: "Active" } : undefined,
        reservedConcurrentExecutions: args.reservedConcurrency,
        vpcConfig: args.vpc ? { subnetIds: args.vpc.subnetIds, securityGroupIds: args.vpc.securityGroupIds } : undefined,
        deadLetterConfig:
          this.failureQueue && failureTargetOf(args) === "dead-letter-queue" ? { targetArn: this.failureQueue.arn } : undefined,
      },
      // The policy must exist before the first invocation tries to log or to keep a failed event.
      { parent: this, dependsOn: [this.rolePolicy, ...(this.vpcAccess ? [this.vpcAccess] : [])] },
    );
  }

  /** Lambda's retries of an asynchronous invocation, and, as an on-failure destination, where the event goes after them. */
  private createEventInvokeConfig(name: string, asyncInvocation: AsyncInvocationArgs): aws.lambda.FunctionEventInvokeConfig {
    return new aws.lambda.FunctionEventInvokeConfig(
      `${name}-async`,
      {
        functionName: this.function.name,
        maximumRetryAttempts: asyncInvocation.maximumRetryAttempts,
        maximumEventAgeInSeconds: asyncInvocation.maximumEventAgeSeconds,
        destinationConfig:
          (asyncInvocation.failureTarget ?? DEFAULT_FAILURE_TARGET) === "on-failure-destination"
            ? { onFailure: { destination: asyncInvocation.failureQueue.arn } }
            : undefined,
      },
      { parent: this },
    );
  }
}

/** A Node.js Lambda bundled with esbuild from `handlers/<app>/functions/<handler>.ts`. */
export class NodeFunction extends LambdaComponent {
  /** The bundle the function is deployed from (built with the other bundles of the program). */
  readonly bundle: Promise<Bundle>;

  constructor(name: string, args: NodeFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    const bundle = bundleSoon({ handler: args.handler, entry: args.entry, runtimeAwsSdk: args.runtimeAwsSdk });
    const file = pulumi.output(bundle).apply((b) => b.file);
    super(
      "tributary:lambda:NodeFunction",
      name,
      args,
      {
        packageType: "Zip",
        code: file.apply((f) => new pulumi.asset.AssetArchive({ [BUNDLE_FILE]: new pulumi.asset.FileAsset(f) })),
        handler: LAMBDA_HANDLER,
        serviceName: args.handler,
        ...(args.readsSecrets
          ? { layers: [secretsExtensionLayer(args.platform.region)], environment: { ...SECRETS_EXTENSION_ENVIRONMENT } }
          : {}),
      },
      opts,
    );
    this.bundle = bundle;
    // What the bench and the bundle budget read: which handler, built how, and its size.
    this.registerOutputs({
      arn: this.arn,
      functionName: this.functionName,
      bundle: pulumi
        .output(bundle)
        .apply((b) => ({ handler: args.handler, runtimeAwsSdk: Boolean(args.runtimeAwsSdk), sha256: b.sha256, bytes: b.bytes })),
    });
  }
}

/** The container-image variant: the same role, log group, alarms and failure queue, with `packageType: "Image"`. */
export class NodeImageFunction extends LambdaComponent {
  constructor(name: string, args: NodeImageFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super(
      "tributary:lambda:NodeImageFunction",
      name,
      args,
      { packageType: "Image", imageUri: args.imageUri, serviceName: args.handler },
      opts,
    );
    this.registerOutputs({ arn: this.arn, functionName: this.functionName, bundle: { handler: args.handler, image: true } });
  }
}
