import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "../iam";
import type { Protection } from "../platform";
import { statefulOptions } from "../storage/stateful";

export interface ImageRepositoryOptions {
  /** An existing repository to adopt in place. */
  existingName?: string;
  /** How many images the lifecycle policy keeps. */
  keepImages: number;
  protection: Protection;
}

/**
 * An ECR repository for function images: immutable tags, scanned on push, pullable by
 * Lambda for this account's functions only, keeping the last `keepImages` images. Its
 * policy and lifecycle are named `${name}-policy` and `${name}-lifecycle`.
 */
export function imageRepository(
  name: string,
  options: ImageRepositoryOptions,
  opts: pulumi.CustomResourceOptions,
): { repository: aws.ecr.Repository; policy: aws.ecr.RepositoryPolicy; lifecycle: aws.ecr.LifecyclePolicy } {
  const adopted = options.existingName !== undefined;
  const repository = new aws.ecr.Repository(
    name,
    {
      name: options.existingName,
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      // A repository the stack created may be deleted with its images outside protected
      // stages; an adopted one is retained, never deleted by the stack.
      forceDelete: adopted ? undefined : !options.protection.deletionProtection,
    },
    statefulOptions(options.protection, opts, adopted ? { importId: options.existingName! } : undefined),
  );
  const identity = aws.getCallerIdentityOutput({}, opts);
  const region = aws.getRegionOutput({}, opts);
  // Lambda pulls the image with its service principal, on behalf of this account's functions only.
  const policy = new aws.ecr.RepositoryPolicy(
    `${name}-policy`,
    {
      repository: repository.name,
      policy: policyDocument([
        {
          Sid: "LambdaPullsImages",
          Principal: { Service: "lambda.amazonaws.com" },
          Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
          Condition: { StringLike: { "aws:sourceArn": pulumi.interpolate`arn:aws:lambda:${region.region}:${identity.accountId}:function:*` } },
        },
      ]),
    },
    opts,
  );
  const lifecycle = new aws.ecr.LifecyclePolicy(
    `${name}-lifecycle`,
    {
      repository: repository.name,
      policy: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            description: `Keep the last ${options.keepImages} images`,
            selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: options.keepImages },
            action: { type: "expire" },
          },
        ],
      }),
    },
    opts,
  );
  return { repository, policy, lifecycle };
}
