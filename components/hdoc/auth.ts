import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type Protection, statefulOptions } from "../storage/stateful";

/**
 * What an adopted user pool keeps as it is: its identity (name, sign-in attributes and
 * schema, which cannot change without a new pool), its Lambda triggers and its messages.
 * The stack manages only its deletion protection and recovery setting.
 */
export const ADOPTED_POOL_KEEPS = [
  "name",
  "usernameAttributes",
  "aliasAttributes",
  "schemas",
  "usernameConfiguration",
  "lambdaConfig",
  "autoVerifiedAttributes",
  "passwordPolicy",
  "emailConfiguration",
  "smsConfiguration",
  "verificationMessageTemplate",
  "adminCreateUserConfig",
  "mfaConfiguration",
  "softwareTokenMfaConfiguration",
  "userAttributeUpdateSettings",
  "tags",
];

/** What an adopted app client keeps: the OAuth set-up the frontend signs in with, and its secret. */
export const ADOPTED_CLIENT_KEEPS = ["name", "generateSecret", "allowedOauthFlows", "allowedOauthScopes", "explicitAuthFlows"];

export interface AuthArgs {
  /** Prefix of the hosted-UI domain: `<prefix>.auth.<region>.amazoncognito.com`. */
  domainPrefix: string;
  callbackUrls: string[];
  logoutUrls: string[];
  /** The stage's protection of the user pool. */
  protection: Protection;
  /** An existing user pool to adopt in place, with its `domainPrefix` domain. */
  existingUserPoolId?: string;
  /** An existing app client of that pool to adopt in place. */
  existingClientId?: string;
}

/**
 * Cognito for 100DaysOfCloud: a user pool that signs in by e-mail, its app client and
 * hosted-UI domain. An existing pool, client and domain can be adopted instead.
 */
export class Auth extends pulumi.ComponentResource {
  readonly userPool: aws.cognito.UserPool;
  readonly client: aws.cognito.UserPoolClient;
  readonly domain: aws.cognito.UserPoolDomain;
  /** The JWT issuer of the pool, for API authorizers. */
  readonly issuer: pulumi.Output<string>;

  constructor(name: string, args: AuthArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:hdoc:Auth", name, {}, opts);

    this.userPool = new aws.cognito.UserPool(
      name,
      {
        usernameAttributes: ["email"],
        autoVerifiedAttributes: ["email"],
        // As the SAM template had it: a minimum length, no character-class rules.
        passwordPolicy: { minimumLength: 8, temporaryPasswordValidityDays: 7 },
        accountRecoverySetting: { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] },
        deletionProtection: args.protection.deletionProtection ? "ACTIVE" : "INACTIVE",
      },
      statefulOptions(
        args.protection,
        { parent: this },
        args.existingUserPoolId ? { importId: args.existingUserPoolId, keep: ADOPTED_POOL_KEEPS } : undefined,
      ),
    );
    this.client = new aws.cognito.UserPoolClient(
      `${name}-client`,
      {
        userPoolId: this.userPool.id,
        generateSecret: false,
        allowedOauthFlowsUserPoolClient: true,
        allowedOauthFlows: ["code"],
        allowedOauthScopes: ["email", "openid", "profile"],
        callbackUrls: args.callbackUrls,
        logoutUrls: args.logoutUrls,
        supportedIdentityProviders: ["COGNITO"],
        preventUserExistenceErrors: "ENABLED",
      },
      // The frontend holds the client's id: an adopted client is kept with the pool.
      args.existingClientId
        ? statefulOptions(
            args.protection,
            { parent: this },
            { importId: `${args.existingUserPoolId}/${args.existingClientId}`, keep: ADOPTED_CLIENT_KEEPS },
          )
        : { parent: this },
    );
    // A pool has one hosted-UI prefix domain: an adopted pool brings its own.
    this.domain = new aws.cognito.UserPoolDomain(
      `${name}-domain`,
      { domain: args.domainPrefix, userPoolId: this.userPool.id },
      args.existingUserPoolId ? statefulOptions(args.protection, { parent: this }, { importId: args.domainPrefix }) : { parent: this },
    );
    this.issuer = pulumi.interpolate`https://${this.userPool.endpoint}`;
    this.registerOutputs({ userPoolId: this.userPool.id, clientId: this.client.id, domain: this.domain.domain });
  }
}
