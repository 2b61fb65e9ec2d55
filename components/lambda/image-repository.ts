import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { applies, keptUnless } from "../adoption";
import { policyDocument } from "../iam";
import { statefulOptions } from "../storage/stateful";
import type { StatefulArgs } from "../storage/table";

export interface ImageRepositoryOptions extends StatefulArgs {
  /** How many images the lifecycle policy keeps. */
  keepImages: number;
}

/**
 * An ECR repository for function images with the app's improvements: immutable tags, scanned
 * on push, pullable by Lambda for this account's functions only, keeping the last
 * `keepImages` images. Its policy and lifecycle are named `${name}-policy` and
 * `${name}-lifecycle`. An adopted repository keeps its tag mutability, scanning, policy and
 * lifecycle until their improvements apply.
 */
export function imageRepository(
  name: string,
  options: ImageRepositoryOptions,
  opts: pulumi.CustomResourceOptions,
): { repository: aws.ecr.Repository; policy?: aws.ecr.RepositoryPolicy; lifecycle?: aws.ecr.LifecyclePolicy } {
  const { hardening } = options;
  const adopted = options.existingName !== undefined;
  const immutable = applies(hardening, "immutableImageTags", adopted);
  const scan = applies(hardening, "scanImagesOnPush", adopted);
  const repository = new aws.ecr.Repository(
    name,
    {
      name: options.existingName,
      imageTagMutability: adopted && !immutable ? undefined : immutable ? "IMMUTABLE" : "MUTABLE",
      imageScanningConfiguration: adopted && !scan ? undefined : { scanOnPush: scan },
      // A repository the stack created may be deleted with its images outside protected
      // stages; an adopted one is retained, never deleted by the stack.
      forceDelete: adopted ? undefined : !options.protection.deletionProtection,
    },
    statefulOptions(
      options.protection,
      opts,
      adopted
        ? {
            importId: options.existingName!,
            keep: [
              "encryptionConfigurations",
              ...keptUnless(immutable, adopted, ["imageTagMutability"]),
              ...keptUnless(scan, adopted, ["imageScanningConfiguration"]),
            ],
          }
        : undefined,
    ),
  );
  let policy: aws.ecr.RepositoryPolicy | undefined;
  if (applies(hardening, "imagePullPolicy", adopted)) {
    const identity = aws.getCallerIdentityOutput({}, opts);
    const region = aws.getRegionOutput({}, opts);
    // Lambda pulls the image with its service principal, on behalf of this account's functions only.
    policy = new aws.ecr.RepositoryPolicy(
      `${name}-policy`,
      {
        repository: repository.name,
        policy: policyDocument([
          {
            Sid: "LambdaPullsImages",
            Principal: { Service: "lambda.amazonaws.com" },
            Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            Condition: {
              StringLike: { "aws:sourceArn": pulumi.interpolate`arn:aws:lambda:${region.region}:${identity.accountId}:function:*` },
            },
          },
        ]),
      },
      opts,
    );
  }
  let lifecycle: aws.ecr.LifecyclePolicy | undefined;
  if (applies(hardening, "imageLifecycle", adopted)) {
    lifecycle = new aws.ecr.LifecyclePolicy(
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
  }
  return { repository, policy, lifecycle };
}
