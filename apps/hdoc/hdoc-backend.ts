import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Hardening } from "../../components/adoption";
import type { FunctionSizing } from "../../components/lambda/node-function";
import { AppDashboard } from "../../components/monitoring/app-dashboard";
import type { Platform } from "../../components/platform";
import { dynamoTable, type TableSchema } from "../../components/storage/table";
import { Api, type ApiSettings } from "./api";
import { Auth, type AuthArgs } from "./auth";
import { Frontend, type FrontendDomain } from "./frontend";

/** The users table, keyed by GitHub user name. */
export const HDOC_USERS_TABLE = { hashKey: "github_username" } as const satisfies TableSchema;

export interface HdocBackendArgs {
  /** The existing users table, adopted in place; when absent, one is created. */
  usersTableName?: string;
  /** The Cognito user pool, its app client and hosted-UI domain: adopted or created. */
  auth: Omit<AuthArgs, "protection" | "hardening">;
  api: ApiSettings;
  /** The frontend's existing bucket, adopted in place; when absent, one is created. */
  frontendBucketName?: string;
  /** The site's own domain, with its certificate; without it the site is served at its cloudfront.net name. */
  frontendDomain?: FrontendDomain;
  /** An AWS provider in us-east-1 for the site's certificate (CloudFront reads certificates there), when the app's own provider is elsewhere. */
  certificateProvider?: pulumi.ProviderResource;
  /** The app's improvements over the original deployment (see components/adoption.ts). */
  hardening: Hardening;
  /** The size of both route functions. */
  function: FunctionSizing;
  platform: Platform;
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
  readonly dashboard: AppDashboard;
  /** The stack outputs of the app. */
  readonly outputs: Record<string, pulumi.Input<unknown>>;

  constructor(name: string, args: HdocBackendArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:hdoc:HdocBackend", name, {}, opts);

    const { platform, hardening } = args;
    this.usersTable = dynamoTable(
      `${name}-users`,
      HDOC_USERS_TABLE,
      { protection: platform.protection, hardening, existingName: args.usersTableName },
      { parent: this },
    );
    this.auth = new Auth(`${name}-auth`, { ...args.auth, protection: platform.protection, hardening }, { parent: this });
    this.api = new Api(
      `${name}-api`,
      {
        usersTable: this.usersTable,
        api: args.api,
        function: args.function,
        jwt: { issuer: this.auth.issuer, audience: [this.auth.client.id] },
        platform,
      },
      { parent: this },
    );
    this.frontend = new Frontend(
      `${name}-frontend`,
      {
        protection: platform.protection,
        hardening,
        existingBucketName: args.frontendBucketName,
        domain: args.frontendDomain,
        certificateProvider: args.certificateProvider,
      },
      { parent: this },
    );

    this.dashboard = new AppDashboard(
      `${name}-dashboard`,
      {
        app: "hdoc",
        functions: Object.values(this.api.functions).map((fn) => fn.monitoring),
        queues: [],
        apis: [this.api.http.monitoring],
        alarming: platform.alarming,
      },
      { parent: this },
    );

    this.outputs = {
      apiUrl: this.api.url,
      userPoolId: this.auth.userPool.id,
      clientId: this.auth.client.id,
      domain: this.auth.domain.domain,
      bucketName: this.frontend.bucket.bucket,
      distributionDomain: this.frontend.distribution.domainName,
      ...(this.frontend.certificateValidationRecords ? { certificateValidationRecords: this.frontend.certificateValidationRecords } : {}),
      dashboard: this.dashboard.outputs,
    };
    this.registerOutputs(this.outputs);
  }
}
