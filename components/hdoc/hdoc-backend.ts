import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { HdocConfig } from "../../config";
import type { Alarming } from "../events/dead-letter-queue";
import { dynamoTable, type TableSchema, type TableSettings } from "../storage/table";
import { Api } from "./api";
import { Auth } from "./auth";
import { Frontend } from "./frontend";

/** The users table, keyed by GitHub user name. */
export const HDOC_USERS_TABLE = { hashKey: "github_username" } as const satisfies TableSchema;

export interface HdocBackendArgs {
  auth: HdocConfig["auth"];
  api: HdocConfig["api"];
  function: HdocConfig["function"];
  /** The stage's point-in-time recovery (users table) and deletion protection (table and user pool). */
  protection: TableSettings;
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

    this.usersTable = dynamoTable(`${name}-users`, HDOC_USERS_TABLE, args.protection, { parent: this });
    this.auth = new Auth(`${name}-auth`, { ...args.auth, deletionProtection: args.protection.deletionProtection }, { parent: this });
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
    this.frontend = new Frontend(`${name}-frontend`, {}, { parent: this });

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
