import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { HdocConfig } from "../../config";
import type { Alarming } from "../events/dead-letter-queue";
import type { Protection } from "../storage/stateful";
import { dynamoTable, type TableSchema } from "../storage/table";
import { Api } from "./api";
import { Auth } from "./auth";
import { Frontend } from "./frontend";

/** The users table, keyed by GitHub user name. */
export const HDOC_USERS_TABLE = { hashKey: "github_username" } as const satisfies TableSchema;

export interface HdocBackendArgs {
  /** The existing users table, adopted in place; when absent, one is created. */
  usersTableName?: string;
  auth: HdocConfig["auth"];
  api: HdocConfig["api"];
  frontend: HdocConfig["frontend"];
  function: HdocConfig["function"];
  /** The stage's protection of the users table, the user pool and the site bucket. */
  protection: Protection;
  logRetentionDays: number;
  alarming: Alarming;
}

/**
 * hdoc: the 100DaysOfCloud backend. The SAM template's nested stacks are child components:
 * Auth (Cognito), Api (HTTP API over the users table) and Frontend (bucket behind CloudFront).
 */
export class HdocBackend extends pulumi.ComponentResource {
  readonly usersTable: aws.dynamodb.Table;
  readonly auth: Auth;
  readonly api: Api;
  readonly frontend: Frontend;

  constructor(name: string, args: HdocBackendArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:hdoc:HdocBackend", name, {}, opts);

    this.usersTable = dynamoTable(`${name}-users`, HDOC_USERS_TABLE, args.protection, { parent: this }, args.usersTableName);
    const { userPoolId, clientId, ...auth } = args.auth;
    this.auth = new Auth(
      `${name}-auth`,
      { ...auth, protection: args.protection, existingUserPoolId: userPoolId, existingClientId: clientId },
      { parent: this },
    );
    this.api = new Api(
      `${name}-api`,
      {
        usersTable: this.usersTable,
        api: args.api,
        function: args.function,
        jwt: { issuer: this.auth.issuer, audience: [this.auth.client.id] },
        logRetentionDays: args.logRetentionDays,
        alarming: args.alarming,
      },
      { parent: this },
    );
    this.frontend = new Frontend(
      `${name}-frontend`,
      { protection: args.protection, existingBucketName: args.frontend.bucketName },
      { parent: this },
    );

    this.registerOutputs({
      apiUrl: this.api.url,
      userPoolId: this.auth.userPool.id,
      clientId: this.auth.client.id,
      domain: this.auth.domain.domain,
      bucketName: this.frontend.bucket.bucket,
      distributionDomain: this.frontend.distribution.domainName,
    });
  }
}
