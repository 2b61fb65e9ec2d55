import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type ApiMonitoring, apiAlarms } from "../monitoring/alarms";
import type { Platform } from "../platform";

/** One route of the API and the function that serves it. */
export interface HttpRoute {
  /** For example `GET /users`. */
  routeKey: string;
  function: { arn: pulumi.Input<string>; functionName: pulumi.Input<string> };
  /** Require a JWT from this authorizer (see `jwtAuthorizer`). */
  protected?: boolean;
}

export interface HttpApiArgs {
  routes: HttpRoute[];
  /** The stage's retention of the access log, and its 5xx alarm. */
  platform: Pick<Platform, "logRetentionDays" | "alarming">;
  /** Default throttling of every route. */
  throttling: { burstLimit: number; rateLimit: number };
  cors?: aws.types.input.apigatewayv2.ApiCorsConfiguration;
  /** A JWT authorizer for the routes marked `protected`, for example a Cognito user pool. */
  jwtAuthorizer?: { issuer: pulumi.Input<string>; audience: pulumi.Input<string>[] };
  description: string;
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

    this.api = new aws.apigatewayv2.Api(
      name,
      { protocolType: "HTTP", description: args.description, corsConfiguration: args.cors },
      { parent: this },
    );
    this.accessLogs = new aws.cloudwatch.LogGroup(
      `${name}-access-logs`,
      { retentionInDays: args.platform.logRetentionDays },
      { parent: this },
    );

    if (args.jwtAuthorizer) {
      this.authorizer = new aws.apigatewayv2.Authorizer(
        `${name}-jwt`,
        {
          apiId: this.api.id,
          authorizerType: "JWT",
          identitySources: ["$request.header.Authorization"],
          jwtConfiguration: { issuer: args.jwtAuthorizer.issuer, audiences: args.jwtAuthorizer.audience },
        },
        { parent: this },
      );
    }

    const routes: aws.apigatewayv2.Route[] = [];
    for (const route of args.routes) {
      if (route.protected && !this.authorizer) throw new Error(`route ${route.routeKey} is protected but the API has no JWT authorizer`);
      const slug = route.routeKey
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-|-$/g, "");
      const integration = new aws.apigatewayv2.Integration(
        `${name}-${slug}`,
        { apiId: this.api.id, integrationType: "AWS_PROXY", integrationUri: route.function.arn, payloadFormatVersion: "2.0" },
        { parent: this },
      );
      routes.push(
        new aws.apigatewayv2.Route(
          `${name}-${slug}`,
          {
            apiId: this.api.id,
            routeKey: route.routeKey,
            target: pulumi.interpolate`integrations/${integration.id}`,
            authorizationType: route.protected ? "JWT" : "NONE",
            authorizerId: route.protected ? this.authorizer?.id : undefined,
          },
          { parent: this },
        ),
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
    }

    this.stage = new aws.apigatewayv2.Stage(
      `${name}-default`,
      {
        apiId: this.api.id,
        name: "$default",
        autoDeploy: true,
        defaultRouteSettings: { throttlingBurstLimit: args.throttling.burstLimit, throttlingRateLimit: args.throttling.rateLimit },
        accessLogSettings: {
          destinationArn: this.accessLogs.arn,
          format: JSON.stringify({
            requestId: "$context.requestId",
            ip: "$context.identity.sourceIp",
            requestTime: "$context.requestTime",
            routeKey: "$context.routeKey",
            status: "$context.status",
            latency: "$context.responseLatency",
            integrationError: "$context.integrationErrorMessage",
          }),
        },
      },
      { parent: this, dependsOn: routes },
    );
    this.url = this.api.apiEndpoint;
    this.monitoring = apiAlarms(name, { apiId: this.api.id, stage: this.stage.name }, args.platform.alarming, { parent: this });
    this.registerOutputs({ url: this.url });
  }
}
