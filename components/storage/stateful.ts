/**
 * Resource options of the program's stateful resources (tables, queues, topics, buckets,
 * image repositories, user pools, event buses): how they are protected, kept, and adopted
 * from an earlier deployment.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ADOPTED_KEEPS_TAGS, type Adoption } from "../adoption";
import type { Protection } from "../platform";

export type { Adoption, Protection };

/**
 * Options for a stateful resource: protected where the stage protects, retained on delete,
 * and, when `adopt` is given, imported rather than created, keeping its tags and `adopt.keep`.
 * An adopted resource is always retained: the stack never deletes what it did not create.
 * `untagged` marks a resource type that has no tags.
 */
export function statefulOptions(
  protection: Protection,
  opts: pulumi.CustomResourceOptions,
  adopt?: Adoption,
  untagged = false,
): pulumi.CustomResourceOptions {
  return {
    ...opts,
    protect: protection.deletionProtection,
    retainOnDelete: adopt !== undefined || protection.retainOnDelete,
    ...(adopt ? { import: adopt.importId, ignoreChanges: [...(adopt.keep ?? []), ...(untagged ? [] : ADOPTED_KEEPS_TAGS)] } : {}),
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
