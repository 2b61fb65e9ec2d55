import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";

export interface PrivateBucket {
  bucket: aws.s3.Bucket;
  publicAccessBlock: aws.s3.BucketPublicAccessBlock;
}

/**
 * A private S3 bucket: every kind of public access blocked, ACLs disabled (the bucket owner
 * owns every object), encrypted at rest, and versioned when asked.
 */
export function privateBucket(name: string, options: { versioning: boolean }, opts: pulumi.CustomResourceOptions): PrivateBucket {
  const bucket = new aws.s3.Bucket(name, {}, opts);
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
