import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface AuthArgs {
  /** Prefix of the hosted-UI domain: `<prefix>.auth.<region>.amazoncognito.com`. */
  domainPrefix: string;
  callbackUrls: string[];
  logoutUrls: string[];
  /** Refuse to delete the user pool (prod). */
  deletionProtection: boolean;
}

/** Cognito for 100DaysOfCloud: a user pool that signs in by e-mail, its app client and hosted-UI domain. */
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
        deletionProtection: args.deletionProtection ? "ACTIVE" : "INACTIVE",
      },
      { parent: this },
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
      { parent: this },
    );
    this.domain = new aws.cognito.UserPoolDomain(`${name}-domain`, { domain: args.domainPrefix, userPoolId: this.userPool.id }, { parent: this });
    this.issuer = pulumi.interpolate`https://${this.userPool.endpoint}`;
    this.registerOutputs({ userPoolId: this.userPool.id, clientId: this.client.id, domain: this.domain.domain });
  }
}
