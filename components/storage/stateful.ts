/**
 * Resource options of the program's stateful resources (tables, queues, topics, buckets,
 * image repositories, user pools, event buses): how they are protected, kept, and adopted
 * from an earlier deployment.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Protection } from "../platform";

export type { Protection };

/** An existing resource that the stack takes over in place instead of creating a new one. */
export interface Adoption {
  /** The id Pulumi imports it by (a name, URL or ARN, depending on the resource type). */
  importId: string;
  /**
   * Properties the stack leaves as the existing resource has them: those that would force a
   * replacement, and those it cannot read back. Their real values are taken on import.
   */
  keep?: string[];
}

/**
 * Options for a stateful resource: protected where the stage protects, retained on delete,
 * and, when `adopt` is given, imported rather than created. An adopted resource is always
 * retained: the stack never deletes what it did not create.
 */
export function statefulOptions(protection: Protection, opts: pulumi.CustomResourceOptions, adopt?: Adoption): pulumi.CustomResourceOptions {
  return {
    ...opts,
    protect: protection.deletionProtection,
    retainOnDelete: adopt !== undefined || protection.retainOnDelete,
    ...(adopt ? { import: adopt.importId, ignoreChanges: adopt.keep } : {}),
  };
}

/** `https://sqs.eu-west-2.amazonaws.com/123456789012/users` → `users`. */
export function queueNameOf(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1);
}

/** `arn:aws:sns:eu-west-2:123456789012:alma-LOAN_CREATED` → `alma-LOAN_CREATED`. */
export function topicNameOf(arn: string): string {
  return arn.slice(arn.lastIndexOf(":") + 1);
}
