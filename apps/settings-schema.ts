/**
 * Schema pieces that several apps' settings share: value formats, a function's sizing, an
 * app's `hardening` block and the retry bounds of an asynchronous delivery. Each app's own
 * block is in `apps/<app>/settings.ts`; `config.ts` composes them into the stack's schema.
 */
import { z } from "zod";
import type { Improvement } from "../components/adoption";
import type { FunctionSizing } from "../components/lambda/node-function";
import { MINIMUM_EVENT_AGE_SECONDS, type RetryBounds } from "../components/retry-bounds";

export const nonEmpty = z.string().trim().min(1, "must not be empty");
export const httpsUrl = z.url({ protocol: /^https$/, error: "must be an https:// URL" });
export const awsArn = z.string().regex(/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$/, "must be an AWS ARN");
export const snsTopicArn = z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, "must be an SNS topic ARN");
/** Names of existing resources to adopt (see docs/cutover.md). */
export const tableName = z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, "must be a DynamoDB table name");
export const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name");
export const queueUrl = z
  .string()
  .regex(
    /^https:\/\/sqs\.[a-z0-9-]+\.amazonaws\.com\/\d{12}\/[A-Za-z0-9_-]{1,80}(\.fifo)?$/,
    "must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)",
  );
export const eventBusName = z.string().regex(/^[A-Za-z0-9._\-/]{1,256}$/, "must be an EventBridge bus name");
/** An app's own region, when its resources are not in the stack's `aws:region` (the originals of hdoc, lessons and skills run in us-east-1). */
export const awsRegion = z
  .string()
  .regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, "must be an AWS region such as us-east-1")
  .optional();
export const atlasId = (what: string) => z.string().regex(/^[0-9a-f]{24}$/, `must be a 24-character ${what}`);
/** CloudEvent types and similar dotted identifiers. */
export const eventType = z.string().regex(/^[A-Za-z0-9._:-]+$/, "must be a dotted event type such as fct.record.created");

/** Sizing of one Lambda function. */
export const functionSettings = (defaults: { memoryMb: number; timeoutSeconds: number }) =>
  z
    .strictObject({
      /** Memory in MB (128-10240). */
      memoryMb: z.number().int().min(128).max(10240).default(defaults.memoryMb),
      /** Timeout in seconds (1-900). */
      timeoutSeconds: z.number().int().min(1).max(900).default(defaults.timeoutSeconds),
      /** Reserved concurrency; absent means the account's unreserved pool. */
      reservedConcurrency: z.number().int().min(0).optional(),
      /** Active X-Ray tracing. */
      tracing: z.boolean().default(false),
    })
    .prefault({});

export type FunctionSettings = z.infer<ReturnType<typeof functionSettings>>;

/** A function block of config as NodeFunction takes it: the one place memoryMb and timeoutSeconds are mapped. */
export function functionSizing(settings: FunctionSettings): FunctionSizing {
  return {
    memorySize: settings.memoryMb,
    timeout: settings.timeoutSeconds,
    reservedConcurrency: settings.reservedConcurrency,
    tracing: settings.tracing,
  };
}

/**
 * An app's `hardening` block: per improvement, true applies it to everything the app has,
 * false to nothing; absent, to what the stack creates and not to what it adopts.
 */
export const hardening = (improvements: readonly Improvement[]) =>
  z
    .strictObject(
      Object.fromEntries(improvements.map((i) => [i, z.boolean().optional()])) as Record<Improvement, z.ZodOptional<z.ZodBoolean>>,
    )
    .prefault({});

/** Retry bounds of an asynchronous delivery (event invoke config, EventBridge or Scheduler target), within the service's limits. */
export const asyncRetry = (defaults: RetryBounds, limits: RetryBounds) =>
  z
    .strictObject({
      maximumRetryAttempts: z.number().int().min(0).max(limits.maximumRetryAttempts).default(defaults.maximumRetryAttempts),
      maximumEventAgeSeconds: z
        .number()
        .int()
        .min(MINIMUM_EVENT_AGE_SECONDS)
        .max(limits.maximumEventAgeSeconds)
        .default(defaults.maximumEventAgeSeconds),
    })
    .prefault({});
