import * as auth0 from "@pulumi/auth0";
import * as pulumi from "@pulumi/pulumi";
import { adoptionOptions } from "../adoption";
import { type SecureParameter, secureParameter } from "../secrets/secure-parameter";

export interface MachineToMachineClientArgs {
  /** Audience (identifier) of the API the client calls. */
  audience: pulumi.Input<string>;
  /** Scopes granted on that API; an adopted grant keeps its own when this is absent. */
  scopes?: pulumi.Input<string>[];
  /** Shown in the Auth0 dashboard. */
  description: string;
  /**
   * The existing client and its grant on `audience`, adopted in place: the client keeps its
   * name, type, grant types and authentication method, the grant its scopes (unless `scopes`
   * is given), and the secret is the one the client already has.
   */
  existing?: { clientId: string; grantId: string };
}

/** The Management API scopes the Auth0 provider needs for this component: docs/apps/lessons.md and docs/cutover.md list them too. */
export const MANAGEMENT_API_SCOPES = [
  "read:clients",
  "create:clients",
  "update:clients",
  "delete:clients",
  "read:client_keys",
  "read:client_credentials",
  "update:client_credentials",
  "read:client_grants",
  "create:client_grants",
  "update:client_grants",
  "delete:client_grants",
];

/**
 * An Auth0 machine-to-machine application: a `non_interactive` client that authenticates
 * with `client_secret_post`, a grant of the given scopes on one API, and its secret kept in
 * an SSM SecureString parameter (never in clear in an environment or an output).
 */
export class MachineToMachineClient extends pulumi.ComponentResource {
  readonly client: auth0.Client;
  readonly grant: auth0.ClientGrant;
  readonly credentials: auth0.ClientCredentials;
  readonly clientId: pulumi.Output<string>;
  /** The client secret in SSM, with the statement that lets one function read it. */
  readonly secret: SecureParameter;

  constructor(name: string, args: MachineToMachineClientArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:auth0:MachineToMachineClient", name, {}, opts);
    const { existing } = args;

    this.client = new auth0.Client(
      name,
      { appType: "non_interactive", grantTypes: ["client_credentials"], description: args.description },
      adoptionOptions(
        { parent: this, retainOnDelete: existing !== undefined },
        existing && { importId: existing.clientId, keep: ["name", "description", "appType", "grantTypes"] },
      ),
    );
    this.clientId = this.client.clientId;
    this.credentials = new auth0.ClientCredentials(
      `${name}-credentials`,
      { clientId: this.client.clientId, authenticationMethod: "client_secret_post" },
      adoptionOptions(
        { parent: this, retainOnDelete: existing !== undefined },
        existing && { importId: existing.clientId, keep: ["authenticationMethod"] },
      ),
    );
    this.grant = new auth0.ClientGrant(
      `${name}-grant`,
      { clientId: this.client.clientId, audience: args.audience, scopes: args.scopes ?? [] },
      adoptionOptions(
        { parent: this, retainOnDelete: existing !== undefined },
        existing && { importId: existing.grantId, keep: args.scopes === undefined ? ["scopes"] : [] },
      ),
    );
    // Auth0 hands the secret only to a Management API client with read:client_keys (or
    // read:client_credentials); otherwise it is empty, and every token request would fail.
    const clientSecret = this.credentials.clientSecret.apply((secret) => {
      if (!secret) {
        throw new Error(
          `${name}: Auth0 returned an empty client secret: give the Management API client Pulumi uses (auth0:clientId) the read:client_keys scope`,
        );
      }
      return secret;
    });
    this.secret = secureParameter(
      `${name}-secret`,
      { value: clientSecret, description: `Auth0 client secret of ${name}` },
      { parent: this },
    );
    this.registerOutputs({ clientId: this.clientId, secretParameterName: this.secret.name });
  }
}
