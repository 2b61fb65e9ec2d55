import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "../iam";
import { privateBucket } from "../storage/bucket";
import type { Protection } from "../storage/stateful";

/** AWS's managed "CachingOptimized" cache policy. */
const CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6";
/** The single-page app answers every unknown path itself. */
export const SPA_ERROR_CODES = [403, 404];

export interface FrontendArgs {
  /** CloudFront price class: which edge locations serve the site. */
  priceClass?: string;
  /** The stage's protection of the site bucket. */
  protection: Protection;
  /** The frontend's existing bucket, adopted in place: the distribution then serves what it holds. */
  existingBucketName?: string;
}

/**
 * The static frontend: a private bucket that only this distribution can read (origin
 * access control), served over HTTPS with the SPA's index for unknown paths.
 */
export class Frontend extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly distribution: aws.cloudfront.Distribution;
  readonly originAccessControl: aws.cloudfront.OriginAccessControl;

  constructor(name: string, args: FrontendArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:hdoc:Frontend", name, {}, opts);

    const { bucket, publicAccessBlock } = privateBucket(
      `${name}-site`,
      { versioning: false, protection: args.protection, existingName: args.existingBucketName },
      { parent: this },
    );
    this.bucket = bucket;

    this.originAccessControl = new aws.cloudfront.OriginAccessControl(
      `${name}-oac`,
      { originAccessControlOriginType: "s3", signingBehavior: "always", signingProtocol: "sigv4", description: "100DaysOfCloud frontend" },
      { parent: this },
    );

    const originId = "site";
    this.distribution = new aws.cloudfront.Distribution(
      `${name}-cdn`,
      {
        enabled: true,
        comment: "100DaysOfCloud frontend",
        defaultRootObject: "index.html",
        priceClass: args.priceClass ?? "PriceClass_100",
        httpVersion: "http2and3",
        origins: [{ originId, domainName: bucket.bucketRegionalDomainName, originAccessControlId: this.originAccessControl.id }],
        defaultCacheBehavior: {
          targetOriginId: originId,
          // Content is only ever served over HTTPS; a plain HTTP request is redirected.
          viewerProtocolPolicy: "redirect-to-https",
          allowedMethods: ["GET", "HEAD"],
          cachedMethods: ["GET", "HEAD"],
          compress: true,
          cachePolicyId: CACHING_OPTIMIZED_POLICY_ID,
        },
        customErrorResponses: SPA_ERROR_CODES.map((errorCode) => ({
          errorCode,
          responseCode: 200,
          responsePagePath: "/index.html",
          errorCachingMinTtl: 10,
        })),
        restrictions: { geoRestriction: { restrictionType: "none" } },
        viewerCertificate: { cloudfrontDefaultCertificate: true },
      },
      { parent: this },
    );

    new aws.s3.BucketPolicy(
      `${name}-site-policy`,
      {
        bucket: bucket.id,
        policy: policyDocument([
          {
            Sid: "ReadByThisDistributionOnly",
            Principal: { Service: "cloudfront.amazonaws.com" },
            Action: "s3:GetObject",
            Resource: pulumi.interpolate`${bucket.arn}/*`,
            Condition: { StringEquals: { "AWS:SourceArn": this.distribution.arn } },
          },
        ]),
      },
      // The public-access block must be in place first: it allows this non-public policy.
      { parent: this, dependsOn: [publicAccessBlock] },
    );

    this.registerOutputs({ bucketName: bucket.bucket, distributionDomain: this.distribution.domainName });
  }
}
