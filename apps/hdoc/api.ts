import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { HDOC_ENV, HDOC_PAGING_HEADERS } from "../../handlers/lib/env-names";
import { HttpApi } from "../../components/http/http-api";
import { type FunctionSizing, NodeFunction } from "../../components/lambda/node-function";
import type { Platform } from "../../components/platform";

/** The headers and methods the original functions answered with; the origins come from config (`*` by default, as the original). */
export const CORS_ALLOWED_HEADERS = ["Content-Type", "X-Amz-Date", "Authorization", "X-Api-Key", "x-requested-with"];
export const CORS_ALLOWED_METHODS = ["GET", "POST", "OPTIONS"];

/** The routes, their functions, and the reads each needs on the users table. */
export const HDOC_ROUTES = [
  { routeKey: "GET /user", handler: "hdoc-get-user", actions: ["dynamodb:GetItem"] },
  // GET /users?username=X reads one user, as GET /user does.
  { routeKey: "GET /users", handler: "hdoc-get-users", actions: ["dynamodb:Scan", "dynamodb:GetItem"] },
] as const;

/** What config sets of the API. */
export interface ApiSettings {
  /** Allowed CORS origins; `*` allows any. */
  corsOrigins: string[];
  /** Default throttling of every route. */
  throttling: { burstLimit: number; rateLimit: number };
  /** Routes that require a Cognito JWT: none, or every one (each reads the users). */
  protectedRoutes: string[];
  /** The attributes of a user the routes answer with: `only` these, or all `except` these. */
  publicAttributes: { only?: string[]; except?: string[] };
}

export interface ApiArgs {
  usersTable: aws.dynamodb.Table;
  api: ApiSettings;
  function: FunctionSizing;
  /** The Cognito issuer and audience for routes marked protected. */
  jwt: { issuer: pulumi.Input<string>; audience: pulumi.Input<string>[] };
  platform: Platform;
}

/** The 100DaysOfCloud HTTP API: GET /user and GET /users over the users table, read-only. */
export class Api extends pulumi.ComponentResource {
  readonly http: HttpApi;
  readonly functions: Record<string, NodeFunction> = {};
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: ApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:hdoc:Api", name, {}, opts);
    const open = HDOC_ROUTES.filter((route) => !args.api.protectedRoutes.includes(route.routeKey));
    if (open.length > 0 && open.length < HDOC_ROUTES.length) {
      throw new Error(
        `protectedRoutes must list every route or none: each reads the users, and ${open.map((r) => r.routeKey).join(", ")} would answer them without a token`,
      );
    }

    for (const route of HDOC_ROUTES) {
      this.functions[route.handler] = new NodeFunction(
        `${name}-${route.handler.replace(/^hdoc-/, "")}`,
        {
          handler: route.handler,
          description: `100DaysOfCloud ${route.routeKey}`,
          ...args.function,
          environment: {
            [HDOC_ENV.usersTable]: args.usersTable.name,
            [HDOC_ENV.publicAttributes]: JSON.stringify(args.api.publicAttributes),
          },
          statements: [{ Sid: "ReadUsers", Action: [...route.actions], Resource: [args.usersTable.arn] }],
          platform: args.platform,
        },
        { parent: this },
      );
    }

    this.http = new HttpApi(
      name,
      {
        description: "100DaysOfCloud API",
        routes: HDOC_ROUTES.map((route) => ({
          routeKey: route.routeKey,
          function: this.functions[route.handler],
          protected: args.api.protectedRoutes.includes(route.routeKey),
        })),
        cors: {
          allowHeaders: CORS_ALLOWED_HEADERS,
          allowMethods: CORS_ALLOWED_METHODS,
          allowOrigins: args.api.corsOrigins,
          // GET /users puts the next page's cursor in these: a browser may read them only if exposed.
          exposeHeaders: Object.values(HDOC_PAGING_HEADERS),
        },
        throttling: args.api.throttling,
        jwtAuthorizer: args.jwt,
        platform: args.platform,
      },
      { parent: this },
    );
    this.url = this.http.url;
    this.registerOutputs({ url: this.url });
  }
}
