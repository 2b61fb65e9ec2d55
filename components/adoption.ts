/**
 * Adopting what already runs, unchanged, and the improvements that are applied to it later.
 *
 * An adopted resource is imported by its id and keeps the settings its original deployment
 * gave it: the program either declares each setting exactly as the original did or leaves it
 * to `ignoreChanges` ("keeps" it), so that the first `pulumi up` imports and changes nothing.
 * Each improvement over the originals (encryption, recovery, versioning, ...) is a named
 * setting of its app: on by default for what the stack creates, off by default for what it
 * adopts, and switched on for adopted resources in a later `up`, once the cutover is done.
 */
import type * as pulumi from "@pulumi/pulumi";
import { TLS_ONLY_SID } from "./iam";

/** The improvements an app may apply, each with what it changes on an adopted resource. */
export const IMPROVEMENTS = {
  encryption:
    "encryption at rest with AWS-managed keys: tables (KMS), topics (the aws/sns key: every publisher then needs kms:GenerateDataKey on it, and the AWS-managed key cannot be granted to other accounts or services), queues (SSE-SQS) and buckets (SSE-S3 with a bucket key)",
  pointInTimeRecovery: "point-in-time recovery on tables (35 days of continuous backups, billed per GB)",
  deletionProtection: "deletion protection on tables and user pools: they cannot be deleted until it is turned off",
  onDemandCapacity: "on-demand (PAY_PER_REQUEST) billing instead of provisioned capacity on tables",
  queueSettings:
    "the users queue's visibility timeout from its consumer's timeout (usersQueueConsumerTimeoutSeconds); its consumer must then finish within it",
  blockPublicAccess:
    "every public-access block on buckets, and object ownership enforced (ACLs disabled: an ACL that grants anyone fails the update until it is removed)",
  versioning: "object versioning on buckets; once on, it can only be suspended, never removed",
  preventUserExistenceErrors: "sign-in errors that do not reveal whether a user exists, on the Cognito app client",
  exclusiveBucketPolicy:
    "the site bucket's policy holds the new distribution's statement alone, dropping the old distribution's grant: only once the old distribution is gone (S3 refuses a policy that names a deleted origin access identity)",
  immutableImageTags: "immutable image tags on the ECR repository: pushing an existing tag again fails",
  scanImagesOnPush: "a vulnerability scan of every image pushed to the ECR repository",
  imageLifecycle: "a lifecycle policy that expires all but the newest `keepImages` images",
  imagePullPolicy:
    "a repository policy that lets Lambda pull images for this account's functions; it replaces the repository's whole policy",
  triggerMatch:
    "the trigger's $match, so that only updates that completed a lesson are sent (the original sends every update and its handler skips the rest)",
  tlsOnly:
    "a policy statement on buckets and queues that denies every request not made over TLS (aws:SecureTransport false): a queue without a policy gets one, a bucket's or queue's own statements are kept beside it; a client that calls S3 or SQS over plain HTTP is refused",
} as const;

export type Improvement = keyof typeof IMPROVEMENTS;

/**
 * Policy statements (by Sid) that an improvement adds to a resource policy: added to an
 * adopted resource's policy, each is a change to opt in to, not a harmless addition.
 */
export const IMPROVEMENT_STATEMENTS: Record<string, Improvement> = { [TLS_ONLY_SID]: "tlsOnly" };

/**
 * An app's choice per improvement: `true` applies it to everything the app has, `false` to
 * nothing; absent, it applies to what the stack creates and not to what it adopts.
 */
export type Hardening = Partial<Record<Improvement, boolean>>;

/**
 * Whether an improvement applies to one resource. `whenCreated` is the default for what the
 * stack creates: on, or the stage's setting for recovery and deletion protection.
 */
export function applies(hardening: Hardening, improvement: Improvement, adopted: boolean, whenCreated = true): boolean {
  return hardening[improvement] ?? (adopted ? false : whenCreated);
}

/**
 * The properties an improvement sets, kept as the adopted resource has them while it does
 * not apply. Returns `properties` when the improvement is off for an adopted resource.
 */
export function keptUnless(applied: boolean, adopted: boolean, properties: string[]): string[] {
  return adopted && !applied ? properties : [];
}

/** An existing resource that the stack takes over in place instead of creating a new one. */
export interface Adoption {
  /** The id Pulumi imports it by (a name, URL or ARN, depending on the resource type). */
  importId: string;
  /**
   * Properties kept as the existing resource has them: those that would force a replacement,
   * those the original left to whoever deployed it, and the improvements not applied yet.
   */
  keep?: string[];
}

/**
 * Tags of an adopted resource stay as they are: the stack's default tags apply to what it
 * creates. The policy pack also reads these as the mark of an adopted resource.
 */
export const ADOPTED_KEEPS_TAGS = ["tags", "tagsAll"];

/**
 * Options for importing a resource that is not one of the stateful kinds (a bucket policy,
 * an app client's grant): its import id, and the properties it keeps.
 */
export function adoptionOptions(opts: pulumi.CustomResourceOptions, adopt?: Adoption, tagged = false): pulumi.CustomResourceOptions {
  if (!adopt) return opts;
  const keep = [...(adopt.keep ?? []), ...(tagged ? ADOPTED_KEEPS_TAGS : [])];
  return { ...opts, import: adopt.importId, ignoreChanges: keep };
}
