/** IAM policy documents, written one way across the program. */
import * as pulumi from "@pulumi/pulumi";

/**
 * One IAM policy statement. Resources are exact ARNs: a component never passes `*` except
 * for the actions the policy pack's allow-list names. `Principal` only in resource policies,
 * and `Resource` may be left out only there (a repository policy applies to its repository).
 * `Principal: "*"` only in the TLS-only deny (tlsOnlyStatement).
 */
export interface PolicyStatement {
  Sid?: string;
  Effect?: "Allow" | "Deny";
  Principal?: { Service: string } | "*";
  Action: string | string[];
  Resource?: pulumi.Input<string> | pulumi.Input<string>[];
  Condition?: Record<string, Record<string, pulumi.Input<string | string[]>>>;
}

/** A policy document from statements, identity-based or a resource's; `Effect` defaults to Allow. */
export function policyDocument(statements: PolicyStatement[]): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: statements.map(({ Sid, Effect, ...rest }) => ({ ...(Sid ? { Sid } : {}), Effect: Effect ?? "Allow", ...rest })),
  });
}

/** The Sid of the statement that refuses requests not made over TLS. */
export const TLS_ONLY_SID = "DenyInsecureTransport";

/**
 * The resource policy statement that refuses every action of `service` on `resources`, to
 * anyone, when the request did not come over TLS (the `tlsOnly` improvement). A deny: it
 * grants nothing, and the policy's other statements keep granting what they grant over TLS.
 */
export function tlsOnlyStatement(service: "s3" | "sqs", resources: pulumi.Input<string>[]): PolicyStatement {
  return {
    Sid: TLS_ONLY_SID,
    Effect: "Deny",
    Principal: "*",
    Action: `${service}:*`,
    Resource: resources,
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}

/** A role's trust policy: `service` (for example `lambda.amazonaws.com`) may assume it, under `condition` if given. */
export function trustPolicy(service: string, condition?: PolicyStatement["Condition"]): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole", ...(condition ? { Condition: condition } : {}) },
    ],
  });
}
