import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { applies, type Hardening } from "../../components/adoption";
import type { PolicyStatement } from "../../components/iam";
import { bucketPolicy, privateBucket } from "../../components/storage/bucket";
import type { Protection } from "../../components/storage/stateful";

/** AWS's managed "CachingOptimized" cache policy. */
const CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6";
/** The single-page app answers every unknown path itself. */
export const SPA_ERROR_CODES = [403, 404];
/** The Sid of the statement that lets the distribution read the site; any other statement of an adopted bucket's policy is kept. */
export const DISTRIBUTION_READ_SID = "ReadByThisDistributionOnly";

/** A custom domain for the site: the distribution's aliases and their certificate. */
export interface FrontendDomain {
  /** The site's host names, the first being the certificate's subject: `100daysofcloud.com`, `www.100daysofcloud.com`. */
  names: string[];
  /**
   * A Route 53 hosted zone that holds the names: the certificate's validation records are
   * written there and the certificate is waited for. Without one, the validation records are
   * outputs to add to the zone by hand, and `pulumi up` waits until they are in place.
   */
  hostedZoneId?: string;
}

export interface FrontendArgs {
  /** CloudFront price class: which edge locations serve the site. */
  priceClass?: string;
  /** The stage's protection of the site bucket. */
  protection: Protection;
  /** The app's improvements, applied to the bucket (block public access, encryption, versioning) and its policy. */
  hardening: Hardening;
  /**
   * The frontend's existing bucket, adopted in place: the distribution then serves what it
   * holds, and the bucket's policy keeps its statements (the old distribution's read grant
   * among them) beside the new distribution's.
   */
  existingBucketName?: string;
  /** The site's own domain; without it the site is served at the distribution's cloudfront.net name. */
  domain?: FrontendDomain;
  /** An AWS provider in us-east-1, where CloudFront reads its certificates, when the frontend's own provider is elsewhere. */
  certificateProvider?: pulumi.ProviderResource;
}

/**
 * The static frontend: a private bucket that only this distribution can read (origin
 * access control), served over HTTPS with the SPA's index for unknown paths, at its own
 * domain when one is given.
 */
export class Frontend extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly distribution: aws.cloudfront.Distribution;
  readonly originAccessControl: aws.cloudfront.OriginAccessControl;
  readonly certificate?: aws.acm.Certificate;
  /** The DNS records that validate the certificate (name, type, value), to add by hand without a hosted zone. */
  readonly certificateValidationRecords?: pulumi.Output<{ name: string; type: string; value: string }[]>;

  constructor(name: string, args: FrontendArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:hdoc:Frontend", name, {}, opts);
    const adopted = args.existingBucketName !== undefined;

    const { bucket, publicAccessBlock } = privateBucket(
      `${name}-site`,
      { protection: args.protection, hardening: args.hardening, existingName: args.existingBucketName },
      { parent: this },
    );
    this.bucket = bucket;

    this.originAccessControl = new aws.cloudfront.OriginAccessControl(
      `${name}-oac`,
      { originAccessControlOriginType: "s3", signingBehavior: "always", signingProtocol: "sigv4", description: "100DaysOfCloud frontend" },
      { parent: this },
    );

    let certificateArn: pulumi.Output<string> | undefined;
    if (args.domain) {
      ({
        certificateArn,
        certificate: this.certificate,
        records: this.certificateValidationRecords,
      } = this.siteCertificate(name, args.domain, args.certificateProvider));
    }

    const originId = "site";
    this.distribution = new aws.cloudfront.Distribution(
      `${name}-cdn`,
      {
        enabled: true,
        comment: "100DaysOfCloud frontend",
        defaultRootObject: "index.html",
        aliases: args.domain?.names,
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
        viewerCertificate: certificateArn
          ? { acmCertificateArn: certificateArn, sslSupportMethod: "sni-only", minimumProtocolVersion: "TLSv1.2_2021" }
          : { cloudfrontDefaultCertificate: true },
      },
      { parent: this },
    );

    const readByDistribution: PolicyStatement = {
      Sid: DISTRIBUTION_READ_SID,
      Principal: { Service: "cloudfront.amazonaws.com" },
      Action: "s3:GetObject",
      Resource: pulumi.interpolate`${bucket.arn}/*`,
      Condition: { StringEquals: { "AWS:SourceArn": this.distribution.arn } },
    };
    bucketPolicy(
      `${name}-site-policy`,
      bucket,
      {
        statements: [readByDistribution],
        tlsOnly: applies(args.hardening, "tlsOnly", adopted),
        // An adopted bucket's own statements (the old distribution's grant) keep the old site
        // serving through the cutover, until exclusiveBucketPolicy applies.
        keepExisting: applies(args.hardening, "exclusiveBucketPolicy", adopted) ? undefined : { bucketName: args.existingBucketName! },
        adopted,
        // The public-access block must be in place first: it allows this non-public policy.
        dependsOn: publicAccessBlock ? [publicAccessBlock] : [],
      },
      { parent: this },
    );

    this.registerOutputs({ bucketName: bucket.bucket, distributionDomain: this.distribution.domainName });
  }

  /** The site's certificate in us-east-1, validated by DNS: in the hosted zone when there is one. */
  private siteCertificate(name: string, domain: FrontendDomain, provider: pulumi.ProviderResource | undefined) {
    const certificate = new aws.acm.Certificate(
      `${name}-certificate`,
      { domainName: domain.names[0], subjectAlternativeNames: domain.names.slice(1), validationMethod: "DNS" },
      { parent: this, provider },
    );
    const records = certificate.domainValidationOptions.apply((options) =>
      // Names on the same domain share a record: one of each is enough.
      [
        ...new Map(
          options.map((o) => [
            o.resourceRecordName,
            { name: o.resourceRecordName, type: o.resourceRecordType, value: o.resourceRecordValue },
          ]),
        ).values(),
      ],
    );
    const zoneRecords = domain.hostedZoneId
      ? domain.names.map(
          (host, i) =>
            new aws.route53.Record(
              `${name}-certificate-validation-${i}`,
              {
                zoneId: domain.hostedZoneId!,
                name: certificate.domainValidationOptions.apply((o) => o.find((v) => v.domainName === host)!.resourceRecordName),
                type: certificate.domainValidationOptions.apply((o) => o.find((v) => v.domainName === host)!.resourceRecordType),
                records: [certificate.domainValidationOptions.apply((o) => o.find((v) => v.domainName === host)!.resourceRecordValue)],
                ttl: 300,
                allowOverwrite: true,
              },
              { parent: this },
            ),
        )
      : [];
    // The distribution can only use an issued certificate: this waits for the validation.
    const validation = new aws.acm.CertificateValidation(
      `${name}-certificate-validation`,
      { certificateArn: certificate.arn, validationRecordFqdns: zoneRecords.length > 0 ? zoneRecords.map((r) => r.fqdn) : undefined },
      { parent: this, provider },
    );
    return { certificate, certificateArn: validation.certificateArn, records };
  }
}
