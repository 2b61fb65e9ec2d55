import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { COMMON_ENV, secretParamEnv } from "../../handlers/lib/env-names";
import type { PolicyStatement } from "../iam";
import type { Platform } from "../platform";

/** A secret kept in SSM Parameter Store, and the one statement that lets a function read it. */
export interface SecureParameter {
  parameter: aws.ssm.Parameter;
  /** The parameter's name: what a function gets in its environment instead of the secret. */
  name: pulumi.Output<string>;
  /** `ssm:GetParameter` on this parameter alone. The AWS-managed `aws/ssm` key needs no KMS grant. */
  readStatement: PolicyStatement;
}

/**
 * The environment a function reads its secrets with: each secret's parameter name
 * (`<NAME>_PARAM`, by the secret's name), and how long it uses a value read before reading it
 * again, so that a rotation reaches warm containers (see handlers/lib/secrets.ts).
 */
export function secretsEnvironment(secrets: Record<string, SecureParameter>, platform: Platform): Record<string, pulumi.Input<string>> {
  return {
    ...Object.fromEntries(Object.entries(secrets).map(([secret, parameter]) => [secretParamEnv(secret), parameter.name])),
    ...(platform.secretsMaxAgeSeconds === undefined ? {} : { [COMMON_ENV.secretsMaxAgeSeconds]: String(platform.secretsMaxAgeSeconds) }),
  };
}

/**
 * Stores `value` as an encrypted SecureString. The value is wrapped as a Pulumi secret here
 * too, so that it stays encrypted in state even when its source did not mark it.
 */
export function secureParameter(
  name: string,
  args: { value: pulumi.Input<string>; description: string },
  opts: pulumi.CustomResourceOptions,
): SecureParameter {
  const parameter = new aws.ssm.Parameter(
    name,
    { type: "SecureString", value: pulumi.secret(args.value), description: args.description },
    opts,
  );
  return {
    parameter,
    name: parameter.name,
    readStatement: { Sid: "ReadOwnSecret", Action: ["ssm:GetParameter"], Resource: [parameter.arn] },
  };
}
