import * as auth0 from "@pulumi/auth0";
import * as pulumi from "@pulumi/pulumi";
import { type SecureParameter, secureParameter } from "../secrets/secure-parameter";

export interface MachineToMachineClientArgs {
  /** Audience (identifier) of the API the client calls. */
  audience: pulumi.Input<string>;
  /** Scopes granted on that API. */
  scopes: pulumi.Input<string>[];
  /** Shown in the Auth0 dashboard. */
  description: string;
}

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

    this.client = new auth0.Client(
      name,
      { appType: "non_interactive", grantTypes: ["client_credentials"], description: args.description },
      { parent: this },
    );
    this.clientId = this.client.clientId;
    this.credentials = new auth0.ClientCredentials(
      `${name}-credentials`,
      { clientId: this.client.clientId, authenticationMethod: "client_secret_post" },
      { parent: this },
    );
    this.grant = new auth0.ClientGrant(
      `${name}-grant`,
      { clientId: this.client.clientId, audience: args.audience, scopes: args.scopes },
      { parent: this },
    );
    this.secret = secureParameter(
      `${name}-secret`,
      { value: this.credentials.clientSecret, description: `Auth0 client secret of ${name}` },
      { parent: this },
    );
    this.registerOutputs({ clientId: this.clientId, secretParameterName: this.secret.name });
  }
}
