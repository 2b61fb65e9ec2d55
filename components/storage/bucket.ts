import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { applies } from "../adoption";
import { type PolicyStatement, policyDocument, tlsOnlyStatement } from "../iam";
import { statefulOptions } from "./stateful";
import type { StatefulArgs } from "./table";

export interface PrivateBucket {
  bucket: aws.s3.Bucket;
  /** Absent on an adopted bucket until blockPublicAccess applies to it. */
  publicAccessBlock?: aws.s3.BucketPublicAccessBlock;
}

/**
 * What an adopted bucket keeps of its own settings: everything its original deployment (or
 * its owner, by hand) configured on the bucket itself.
 */
export const ADOPTED_BUCKET_KEEPS = [
  "website",
  "corsRules",
  "acl",
  "grants",
  "policy",
  "lifecycleRules",
  "logging",
  "versioning",
  "serverSideEncryptionConfiguration",
];

/**
 * A private S3 bucket with the app's improvements: every kind of public access blocked,
 * ACLs disabled (the bucket owner owns every object), encrypted at rest, and versioned. A
 * bucket the stack created may be deleted while it still holds objects, outside protected
 * stages. An adopted bucket gets each of these only once its improvement applies: until
 * then its public-access block, ownership, encryption and versioning stay as they are.
 */
export function privateBucket(name: string, args: StatefulArgs, opts: pulumi.CustomResourceOptions): PrivateBucket {
  const { hardening } = args;
  const adopted = args.existingName !== undefined;
  const bucket = new aws.s3.Bucket(
    name,
    // An adopted bucket is retained, never deleted by the stack, so it is never force-deleted either.
    { bucket: args.existingName, forceDestroy: adopted ? undefined : !args.protection.deletionProtection },
    statefulOptions(args.protection, opts, adopted ? { importId: args.existingName!, keep: ADOPTED_BUCKET_KEEPS } : undefined),
  );
  let publicAccessBlock: aws.s3.BucketPublicAccessBlock | undefined;
  if (applies(hardening, "blockPublicAccess", adopted)) {
    publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      opts,
    );
    new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, opts);
  }
  if (applies(hardening, "encryption", adopted)) {
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
      opts,
    );
  }
  if (applies(hardening, "versioning", adopted)) {
    new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, opts);
  }
  return { bucket, publicAccessBlock };
}

export interface BucketPolicyArgs {
  /** Our statements (each with a Sid, which replaces an adopted policy's statement of the same Sid). */
  statements: PolicyStatement[];
  /** Add the deny of every request not made over TLS (the `tlsOnly` improvement). */
  tlsOnly: boolean;
  /**
   * An adopted bucket whose own policy is kept beside ours: it is read when the program runs.
   * `orNone` when the bucket may have no policy at all (S3 answers NoSuchBucketPolicy).
   */
  keepExisting?: { bucketName: string; orNone?: boolean };
  /** The bucket is adopted: its policy may hold statements that are not ours, so it is never deleted. */
  adopted: boolean;
  /** Resources that must be in place first (the public-access block that allows the policy). */
  dependsOn?: pulumi.Resource[];
}

/** The bucket's one policy: `statements` and, with `tlsOnly`, the TLS-only deny. */
export function bucketPolicy(
  name: string,
  bucket: aws.s3.Bucket,
  args: BucketPolicyArgs,
  opts: pulumi.CustomResourceOptions,
): aws.s3.BucketPolicy {
  const statements = [
    ...args.statements,
    ...(args.tlsOnly ? [tlsOnlyStatement("s3", [bucket.arn, pulumi.interpolate`${bucket.arn}/*`])] : []),
  ];
  return new aws.s3.BucketPolicy(
    name,
    { bucket: bucket.id, policy: args.keepExisting ? keptStatementsWith(args.keepExisting, statements, opts) : policyDocument(statements) },
    { ...opts, dependsOn: args.dependsOn ?? [], retainOnDelete: args.adopted },
  );
}

/** What S3 (through the provider) answers for a bucket without a policy. */
const NO_BUCKET_POLICY = /NoSuchBucketPolicy|couldn't find resource/;

/**
 * The adopted bucket's policy as it is, with our statements in place of any earlier ones of
 * the same Sid: what its owner granted (the old distribution's read grant, the bot's
 * readers) keeps working. The policy is read when the program runs.
 */
function keptStatementsWith(
  existing: { bucketName: string; orNone?: boolean },
  statements: PolicyStatement[],
  opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
  const current = aws.s3.getBucketPolicy({ bucket: existing.bucketName }, { parent: opts.parent, provider: opts.provider }).then(
    (found) => found.policy,
    (err: unknown) => {
      if (existing.orNone && NO_BUCKET_POLICY.test(String(err))) return undefined;
      throw err;
    },
  );
  return pulumi.all([current, policyDocument(statements)]).apply(([policy, ours]) => {
    const document = policy ? JSON.parse(policy) : { Version: "2012-10-17", Statement: [] };
    const added = JSON.parse(ours).Statement as { Sid?: string }[];
    const sids = new Set(added.map((s) => s.Sid));
    const kept = (document.Statement as { Sid?: string }[]).filter((s) => s.Sid === undefined || !sids.has(s.Sid));
    return JSON.stringify({ ...document, Statement: [...kept, ...added] });
  });
}
