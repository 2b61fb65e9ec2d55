/**
 * The AWS Parameters and Secrets Lambda Extension, which every zip function that reads a
 * secret runs beside it (handlers/lib/secrets.ts reads through it, so that no SSM client is
 * bundled). It is an AWS-managed layer, published per region and architecture.
 */
import { SECRETS_EXTENSION_ENV } from "../../handlers/lib/env-names";
import { LAMBDA_ARCHITECTURE } from "./runtime";

/** Where AWS lists the layer's ARNs: a region missing below is added from there. */
export const SECRETS_EXTENSION_DOCS =
  "https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-integration-lambda-extensions.html#ps-integration-lambda-extensions-add";

/**
 * The layer for arm64 (LAMBDA_ARCHITECTURE) in the regions the stacks use, as AWS's table
 * gave them (last updated July 28, 2026). A new version is taken by changing the number here;
 * AWS also publishes the latest as the public SSM parameter
 * /aws/service/aws-parameters-and-secrets-lambda-extension/arm64/latest.
 */
export const SECRETS_EXTENSION_LAYERS: Readonly<Record<string, string>> = {
  "eu-west-2": "arn:aws:lambda:eu-west-2:133256977650:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:99",
  "us-east-1": "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:99",
};

/** The extension's layer in `region`; a region without one fails, naming where to find it. */
export function secretsExtensionLayer(region: string): string {
  const arn = SECRETS_EXTENSION_LAYERS[region];
  if (!arn) {
    throw new Error(
      `no AWS Parameters and Secrets Lambda Extension layer (${LAMBDA_ARCHITECTURE}) is known for region "${region}": add its ARN to SECRETS_EXTENSION_LAYERS in components/lambda/secrets-extension.ts (${SECRETS_EXTENSION_DOCS})`,
    );
  }
  return arn;
}

/**
 * The extension's settings: its cache off, so that every read reaches SSM. The function keeps
 * its own cache (TRIBUTARY_SECRETS_MAX_AGE_SECONDS) and reads again at once when a secret
 * fails, which a cached answer would defeat.
 */
export const SECRETS_EXTENSION_ENVIRONMENT: Readonly<Record<string, string>> = {
  [SECRETS_EXTENSION_ENV.cacheEnabled]: "FALSE",
};
