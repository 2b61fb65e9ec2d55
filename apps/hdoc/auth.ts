import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { applies, type Hardening, keptUnless } from "../../components/adoption";
import { type Protection, statefulOptions } from "../../components/storage/stateful";

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
  "accountRecoverySetting",
];

/**
 * What an adopted app client keeps: the OAuth set-up the frontend signs in with, its secret,
 * and its callback and logout URLs (the original's came from a deploy-time parameter).
 */
export const ADOPTED_CLIENT_KEEPS = [
  "name",
  "generateSecret",
  "allowedOauthFlows",
  "allowedOauthScopes",
  "explicitAuthFlows",
  "callbackUrls",
  "logoutUrls",
];

export interface AuthArgs {
  /** Prefix of the hosted-UI domain: `<prefix>.auth.<region>.amazoncognito.com`. */
  domainPrefix: string;
  /** Where the hosted UI may send users back to; needed when the client is created, kept by an adopted one. */
  callbackUrls?: string[];
  logoutUrls?: string[];
  /** The stage's protection of the user pool. */
  protection: Protection;
  /** The app's improvements: deletion protection of the pool, and user-existence errors of the client. */
  hardening: Hardening;
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
    const poolAdopted = args.existingUserPoolId !== undefined;
    const clientAdopted = args.existingClientId !== undefined;
    const deletionProtection = applies(args.hardening, "deletionProtection", poolAdopted, args.protection.deletionProtection);
    const hideUsers = applies(args.hardening, "preventUserExistenceErrors", clientAdopted);

    this.userPool = new aws.cognito.UserPool(
      name,
      {
        usernameAttributes: ["email"],
        autoVerifiedAttributes: ["email"],
        // As the SAM template had it: a minimum length, no character-class rules.
        passwordPolicy: { minimumLength: 8, temporaryPasswordValidityDays: 7 },
        accountRecoverySetting: { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] },
        deletionProtection: poolAdopted && !deletionProtection ? undefined : deletionProtection ? "ACTIVE" : "INACTIVE",
      },
      statefulOptions(
        args.protection,
        { parent: this },
        poolAdopted
          ? {
              importId: args.existingUserPoolId!,
              keep: [...ADOPTED_POOL_KEEPS, ...keptUnless(deletionProtection, poolAdopted, ["deletionProtection"])],
            }
          : undefined,
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
        preventUserExistenceErrors: clientAdopted && !hideUsers ? undefined : hideUsers ? "ENABLED" : "LEGACY",
      },
      // The frontend holds the client's id: an adopted client is kept with the pool.
      clientAdopted
        ? statefulOptions(
            args.protection,
            { parent: this },
            {
              importId: `${args.existingUserPoolId}/${args.existingClientId}`,
              keep: [...ADOPTED_CLIENT_KEEPS, ...keptUnless(hideUsers, clientAdopted, ["preventUserExistenceErrors"])],
            },
            true,
          )
        : { parent: this },
    );
    // A pool has one hosted-UI prefix domain: an adopted pool brings its own.
    this.domain = new aws.cognito.UserPoolDomain(
      `${name}-domain`,
      { domain: args.domainPrefix, userPoolId: this.userPool.id },
      poolAdopted ? statefulOptions(args.protection, { parent: this }, { importId: args.domainPrefix }, true) : { parent: this },
    );
    this.issuer = pulumi.interpolate`https://${this.userPool.endpoint}`;
    this.registerOutputs({ userPoolId: this.userPool.id, clientId: this.client.id, domain: this.domain.domain });
  }
}
