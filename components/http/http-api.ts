import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type ApiMonitoring, apiAlarms } from "../monitoring/alarms";
import type { Platform } from "../platform";

/** One route of the API and the function that serves it. */
export interface HttpRoute {
  /** The method and path, for example `GET /users`. */
  routeKey: string;
  /** The function that serves the route: its ARN for the integration, its name for the permission. */
  function: { arn: pulumi.Input<string>; functionName: pulumi.Input<string> };
  /** Require a JWT from the API's authorizer (see HttpApiArgs.jwtAuthorizer). @default false */
  protected?: boolean;
}

export interface HttpApiArgs {
  /** The API's routes, each with the function that serves it. */
  routes: HttpRoute[];
  /** The stage's retention of the access log, and its 5xx alarm. */
  platform: Pick<Platform, "logRetentionDays" | "alarming">;
  /** Default throttling of every route: the stage's burst and steady-state request rates. */
  throttling: { burstLimit: number; rateLimit: number };
  /** The API's CORS answer, for browsers calling it from another origin. @default no CORS configuration: browsers on other origins are refused. */
  cors?: aws.types.input.apigatewayv2.ApiCorsConfiguration;
  /** A JWT authorizer for the routes marked `protected`, for example a Cognito user pool. @default none: no route may be `protected`. */
  jwtAuthorizer?: { issuer: pulumi.Input<string>; audience: pulumi.Input<string>[] };
  /** The API's description, shown in the console. */
  description: string;
}

/** What API Gateway writes to the access log for each request. */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  ip: "$context.identity.sourceIp",
  requestTime: "$context.requestTime",
  routeKey: "$context.routeKey",
  status: "$context.status",
  latency: "$context.responseLatency",
  integrationError: "$context.integrationErrorMessage",
});

/** `GET /users/{id}` → `get-users-id`, for logical names. */
function slugOf(routeKey: string): string {
  return routeKey
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/**
 * An API Gateway HTTP API whose routes invoke Lambda functions (payload format 2.0), with
 * access logging, default throttling, a Lambda permission per route scoped to it, and an
 * alarm on its 5xx answers.
 */
export class HttpApi extends pulumi.ComponentResource {
  readonly api: aws.apigatewayv2.Api;
  readonly stage: aws.apigatewayv2.Stage;
  readonly accessLogs: aws.cloudwatch.LogGroup;
  readonly authorizer?: aws.apigatewayv2.Authorizer;
  /** The base URL: the API's endpoint on the `$default` stage. */
  readonly url: pulumi.Output<string>;
  /** Its 5xx alarm, and what its app's dashboard shows of it. */
  readonly monitoring: ApiMonitoring;

  constructor(name: string, args: HttpApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:http:HttpApi", name, {}, opts);
    this.api = this.createApi(name, args);
    this.accessLogs = this.createAccessLogs(name, args);
    if (args.jwtAuthorizer) this.authorizer = this.createAuthorizer(name, args.jwtAuthorizer);
    const routes = args.routes.map((route) => this.createRoute(name, route));
    // The stage deploys the routes: it waits for them all.
    this.stage = this.createStage(name, args, routes);
    this.url = this.api.apiEndpoint;
    this.monitoring = apiAlarms(name, { apiId: this.api.id, stage: this.stage.name }, args.platform.alarming, { parent: this });
    this.registerOutputs({ url: this.url });
  }

  private createApi(name: string, args: HttpApiArgs): aws.apigatewayv2.Api {
    return new aws.apigatewayv2.Api(
      name,
      { protocolType: "HTTP", description: args.description, corsConfiguration: args.cors },
      { parent: this },
    );
  }

  private createAccessLogs(name: string, args: HttpApiArgs): aws.cloudwatch.LogGroup {
    return new aws.cloudwatch.LogGroup(`${name}-access-logs`, { retentionInDays: args.platform.logRetentionDays }, { parent: this });
  }

  private createAuthorizer(name: string, jwt: NonNullable<HttpApiArgs["jwtAuthorizer"]>): aws.apigatewayv2.Authorizer {
    return new aws.apigatewayv2.Authorizer(
      `${name}-jwt`,
      {
        apiId: this.api.id,
        authorizerType: "JWT",
        identitySources: ["$request.header.Authorization"],
        jwtConfiguration: { issuer: jwt.issuer, audiences: jwt.audience },
      },
      { parent: this },
    );
  }

  /** One route: its integration with the function, the route itself, and the function's permission for this route only. */
  private createRoute(name: string, route: HttpRoute): aws.apigatewayv2.Route {
    if (route.protected && !this.authorizer) throw new Error(`route ${route.routeKey} is protected but the API has no JWT authorizer`);
    const slug = slugOf(route.routeKey);
    const integration = new aws.apigatewayv2.Integration(
      `${name}-${slug}`,
      { apiId: this.api.id, integrationType: "AWS_PROXY", integrationUri: route.function.arn, payloadFormatVersion: "2.0" },
      { parent: this },
    );
    const created = new aws.apigatewayv2.Route(
      `${name}-${slug}`,
      {
        apiId: this.api.id,
        routeKey: route.routeKey,
        target: pulumi.interpolate`integrations/${integration.id}`,
        authorizationType: route.protected ? "JWT" : "NONE",
        authorizerId: route.protected ? this.authorizer?.id : undefined,
      },
      { parent: this },
    );
    const [method, routePath] = route.routeKey.split(" ");
    new aws.lambda.Permission(
      `${name}-${slug}-invoke`,
      {
        action: "lambda:InvokeFunction",
        function: route.function.functionName,
        principal: "apigateway.amazonaws.com",
        // Only this route of this API may invoke the function.
        sourceArn: pulumi.interpolate`${this.api.executionArn}/*/${method}${routePath}`,
      },
      { parent: this },
    );
    return created;
  }

  /** The `$default` stage, deployed automatically, with the default throttling and the access log. */
  private createStage(name: string, args: HttpApiArgs, routes: aws.apigatewayv2.Route[]): aws.apigatewayv2.Stage {
    return new aws.apigatewayv2.Stage(
      `${name}-default`,
      {
        apiId: this.api.id,
        name: "$default",
        autoDeploy: true,
        defaultRouteSettings: { throttlingBurstLimit: args.throttling.burstLimit, throttlingRateLimit: args.throttling.rateLimit },
        accessLogSettings: { destinationArn: this.accessLogs.arn, format: ACCESS_LOG_FORMAT },
      },
      { parent: this, dependsOn: routes },
    );
  }
}
