import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { type Protection, statefulOptions } from "./stateful";

export interface PrivateBucket {
  bucket: aws.s3.Bucket;
  publicAccessBlock: aws.s3.BucketPublicAccessBlock;
}

export interface PrivateBucketOptions {
  versioning: boolean;
  protection: Protection;
  /** An existing bucket to adopt in place; its settings below are then applied to it. */
  existingName?: string;
}

/**
 * A private S3 bucket: every kind of public access blocked, ACLs disabled (the bucket owner
 * owns every object), encrypted at rest, and versioned when asked. A bucket the stack created
 * may be deleted while it still holds objects, outside protected stages.
 */
export function privateBucket(name: string, options: PrivateBucketOptions, opts: pulumi.CustomResourceOptions): PrivateBucket {
  const adopted = options.existingName !== undefined;
  const bucket = new aws.s3.Bucket(
    name,
    // An adopted bucket is retained, never deleted by the stack, so it is never force-deleted either.
    { bucket: options.existingName, forceDestroy: adopted ? undefined : !options.protection.deletionProtection },
    statefulOptions(options.protection, opts, adopted ? { importId: options.existingName! } : undefined),
  );
  const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
    `${name}-public-access`,
    { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
    opts,
  );
  new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, opts);
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-encryption`,
    { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
    opts,
  );
  if (options.versioning) {
    new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, opts);
  }
  return { bucket, publicAccessBlock };
}
