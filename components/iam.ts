/** IAM policy documents, written one way across the program. */
import * as pulumi from "@pulumi/pulumi";

/**
 * One IAM policy statement. Resources are exact ARNs: a component never passes `*` except
 * for the actions the policy pack's allow-list names. `Principal` only in resource policies,
 * and `Resource` may be left out only there (a repository policy applies to its repository).
 */
export interface PolicyStatement {
  Sid?: string;
  Effect?: "Allow" | "Deny";
  Principal?: { Service: string };
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

/** A role's trust policy: `service` (for example `lambda.amazonaws.com`) may assume it, under `condition` if given. */
export function trustPolicy(service: string, condition?: PolicyStatement["Condition"]): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole", ...(condition ? { Condition: condition } : {}) }],
  });
}
