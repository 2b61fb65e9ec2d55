import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { applies } from "../adoption";
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
export const ADOPTED_BUCKET_KEEPS = ["website", "corsRules", "acl", "grants", "policy", "lifecycleRules", "logging", "versioning", "serverSideEncryptionConfiguration"];

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
