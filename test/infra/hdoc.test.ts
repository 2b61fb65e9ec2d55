import * as assert from "node:assert/strict";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { CORS_ALLOWED_HEADERS, HDOC_ROUTES } from "../../apps/hdoc/api";
import { HDOC_USERS_TABLE } from "../../apps/hdoc/hdoc-backend";
import { HDOC_ROUTE_KEYS } from "../../apps/hdoc/settings";
import { HDOC_ENV } from "../../handlers/lib/env-names";
import { localAwsEnv } from "../../tooling/local/aws";
import { startDynalite } from "../../tooling/local/dynamo";
import { childrenOf, named, ofType, policyOf, type RunResult, stackRun } from "../../tooling/mock-engine";
import { actionsOfHandler, environmentOf, ungrantedActions } from "../helpers/sdk-actions";
import { runVariant, variantConfigError } from "../helpers/stack-variant";

describe("hdoc (HdocBackend)", () => {
  let dev: RunResult;
  let prod: RunResult;
  let staging: RunResult;
  before(async function () {
    this.timeout(60_000);
    dev = await stackRun("dev");
    prod = await stackRun("prod");
    staging = await stackRun("staging");
  });

  it("is made of the Auth, Api and Frontend components, the users table and its dashboard", () => {
    const backend = named(dev, "tributary:hdoc:HdocBackend", "hdoc");
    assert.deepEqual(
      childrenOf(dev, backend)
        .map((c) => `${c.type}::${c.name}`)
        .sort(),
      [
        "aws:dynamodb/table:Table::hdoc-users",
        "tributary:hdoc:Api::hdoc-api",
        "tributary:hdoc:Auth::hdoc-auth",
        "tributary:hdoc:Frontend::hdoc-frontend",
        "tributary:monitoring:AppDashboard::hdoc-dashboard",
      ],
    );
  });

  it("keys the users table on github_username, on demand and encrypted, with point-in-time recovery in prod", () => {
    const table = named(dev, "aws:dynamodb/table:Table", "hdoc-users").inputs;
    assert.equal(table.hashKey, "github_username");
    assert.deepEqual(table.attributes, [{ name: "github_username", type: "S" }]);
    assert.equal(table.billingMode, "PAY_PER_REQUEST");
    assert.deepEqual(table.serverSideEncryption, { enabled: true });
    assert.deepEqual(table.pointInTimeRecovery, { enabled: false });
    // prod adopts the existing table, which keeps its own recovery setting (adoption.test.ts).
    assert.equal(named(prod, "aws:dynamodb/table:Table", "hdoc-users").inputs.pointInTimeRecovery, undefined);
  });

  describe("Auth", () => {
    it("signs in by e-mail, verifies it, needs 8 characters, and is protected from deletion in prod", () => {
      const pool = named(dev, "aws:cognito/userPool:UserPool", "hdoc-auth").inputs;
      assert.deepEqual(pool.usernameAttributes, ["email"]);
      assert.deepEqual(pool.autoVerifiedAttributes, ["email"]);
      assert.equal(pool.passwordPolicy.minimumLength, 8);
      assert.equal(pool.deletionProtection, "INACTIVE");
      // prod adopts its pool, which keeps its own deletion protection until the improvement applies.
      assert.equal(named(prod, "aws:cognito/userPool:UserPool", "hdoc-auth").inputs.deletionProtection, undefined);
    });

    it("has an authorization-code client with the three scopes and config's URLs, and a domain", () => {
      const client = named(dev, "aws:cognito/userPoolClient:UserPoolClient", "hdoc-auth-client").inputs;
      assert.deepEqual(client.allowedOauthFlows, ["code"]);
      assert.equal(client.allowedOauthFlowsUserPoolClient, true);
      assert.deepEqual(client.allowedOauthScopes, ["email", "openid", "profile"]);
      assert.deepEqual(client.callbackUrls, ["http://localhost:3000/callback", "https://dev.100daysofcloud.example.com/callback"]);
      assert.deepEqual(client.logoutUrls, ["http://localhost:3000/", "https://dev.100daysofcloud.example.com/"]);
      assert.equal(client.generateSecret, false);
      assert.equal(named(dev, "aws:cognito/userPoolDomain:UserPoolDomain", "hdoc-auth-domain").inputs.domain, "hdoc-dev-tributary");
    });
  });

  describe("Api", () => {
    const route = (run: RunResult, key: string) => ofType(run, "aws:apigatewayv2/route:Route").find((r) => r.inputs.routeKey === key)!;
    const integrationOf = (run: RunResult, key: string) =>
      ofType(run, "aws:apigatewayv2/integration:Integration").find((i) => route(run, key).rawInputs.target === `integrations/${i.id}`)!;

    it("routes GET /user and GET /users to their functions", () => {
      assert.equal(
        integrationOf(dev, "GET /user").rawInputs.integrationUri,
        named(dev, "aws:lambda/function:Function", "hdoc-api-get-user").state.arn,
      );
      assert.equal(
        integrationOf(dev, "GET /users").rawInputs.integrationUri,
        named(dev, "aws:lambda/function:Function", "hdoc-api-get-users").state.arn,
      );
    });

    it("allows the original CORS headers and methods, and config's origins", () => {
      const cors = named(dev, "aws:apigatewayv2/api:Api", "hdoc-api").inputs.corsConfiguration;
      assert.deepEqual(cors.allowHeaders, ["Content-Type", "X-Amz-Date", "Authorization", "X-Api-Key", "x-requested-with"]);
      assert.deepEqual(cors.allowHeaders, CORS_ALLOWED_HEADERS);
      assert.deepEqual(cors.exposeHeaders, ["Link", "X-Next-Cursor"], "GET /users' paging headers are readable by the frontend");
      assert.deepEqual(cors.allowMethods, ["GET", "POST", "OPTIONS"]);
      assert.deepEqual(cors.allowOrigins, ["http://localhost:3000", "https://dev.100daysofcloud.example.com"]);
      assert.deepEqual(named(prod, "aws:apigatewayv2/api:Api", "hdoc-api").inputs.corsConfiguration.allowOrigins, [
        "https://100daysofcloud.example.com",
      ]);
      assert.deepEqual(named(staging, "aws:apigatewayv2/api:Api", "hdoc-api").inputs.corsConfiguration.allowOrigins, [
        "https://staging.100daysofcloud.example.com",
      ]);
    });

    it("allows any origin (Access-Control-Allow-Origin: *), as the original answered, when config lists none", async function () {
      this.timeout(60_000);
      const run = await runVariant("dev", (config) => {
        delete config["tributary:hdoc"].api;
      });
      assert.deepEqual(named(run, "aws:apigatewayv2/api:Api", "hdoc-api").inputs.corsConfiguration.allowOrigins, ["*"]);
    });

    it("logs access with the stage's retention and throttles by config", () => {
      const stage = named(prod, "aws:apigatewayv2/stage:Stage", "hdoc-api-default");
      const logs = named(prod, "aws:cloudwatch/logGroup:LogGroup", "hdoc-api-access-logs");
      assert.equal(stage.rawInputs.accessLogSettings.destinationArn, logs.state.arn);
      assert.equal(logs.inputs.retentionInDays, 90);
      assert.deepEqual(stage.inputs.defaultRouteSettings, { throttlingBurstLimit: 100, throttlingRateLimit: 200 });
      assert.deepEqual(named(dev, "aws:apigatewayv2/stage:Stage", "hdoc-api-default").inputs.defaultRouteSettings, {
        throttlingBurstLimit: 50,
        throttlingRateLimit: 100,
      });
    });

    it("gives each function the reads it makes on the users table, and nothing more", () => {
      const table = named(dev, "aws:dynamodb/table:Table", "hdoc-users").state;
      for (const [fn, actions] of [
        ["hdoc-api-get-user", ["dynamodb:GetItem"]],
        ["hdoc-api-get-users", ["dynamodb:Scan", "dynamodb:GetItem"]],
      ] as const) {
        const statements = policyOf(named(dev, "aws:iam/rolePolicy:RolePolicy", `${fn}-policy`)).Statement;
        assert.deepEqual(statements.slice(1), [{ Effect: "Allow", Sid: "ReadUsers", Action: actions, Resource: [table.arn] }]);
        assert.deepEqual(environmentOf(dev, fn)[HDOC_ENV.usersTable], table.name);
      }
    });

    it("allows every AWS call each handler makes, recorded while its entry serves every kind of request against dynalite", async function () {
      this.timeout(60_000);
      const dynamo = await startDynalite();
      try {
        const tableName = named(dev, "aws:dynamodb/table:Table", "hdoc-users").state.name;
        await dynamo.createTable(tableName, HDOC_USERS_TABLE);
        await dynamo.documents.send(new PutCommand({ TableName: tableName, Item: { github_username: "ada", day: 1 } }));
        await dynamo.documents.send(new PutCommand({ TableName: tableName, Item: { github_username: "grace", day: 2 } }));
        const event = (rawPath: string, queryStringParameters?: Record<string, string>) => ({
          version: "2.0",
          rawPath,
          queryStringParameters,
        });
        const requests: Record<string, unknown[]> = {
          "hdoc-get-user": [event("/user", { username: "ada" }), event("/user", { username: "nobody" }), event("/user")],
          "hdoc-get-users": [
            event("/users"),
            event("/users", { limit: "1" }),
            event("/users", { username: "ada" }),
            event("/users", { username: "nobody" }),
          ],
        };
        const recorded: Record<string, string[]> = {};
        for (const route of HDOC_ROUTES) {
          const fn = `hdoc-api-${route.handler.replace(/^hdoc-/, "")}`;
          const env = { ...localAwsEnv({ AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint }), ...environmentOf(dev, fn) };
          recorded[route.handler] = await actionsOfHandler(route.handler, env, requests[route.handler]);
          assert.deepEqual(ungrantedActions(dev, fn, recorded[route.handler]), [], `${fn}'s role lacks what its handler calls`);
        }
        assert.deepEqual(recorded, { "hdoc-get-user": ["dynamodb:GetItem"], "hdoc-get-users": ["dynamodb:GetItem", "dynamodb:Scan"] });
        // And the check fails where a grant is missing (the role of GET /users once had only Scan).
        assert.deepEqual(ungrantedActions(dev, "hdoc-api-get-user", ["dynamodb:Scan", "dynamodb:GetItem"]), ["dynamodb:Scan"]);
      } finally {
        await dynamo.close();
      }
    });

    it("passes the public attributes to both functions: all but email and cognito_sub by default, or config's", async function () {
      this.timeout(60_000);
      for (const fn of ["hdoc-api-get-user", "hdoc-api-get-users"]) {
        assert.equal(environmentOf(dev, fn)[HDOC_ENV.publicAttributes], '{"except":["email","cognito_sub"]}');
      }
      const run = await runVariant("dev", (config) => {
        config["tributary:hdoc"].api.publicAttributes = { only: ["github_username", "days_completed"] };
      });
      assert.equal(environmentOf(run, "hdoc-api-get-users")[HDOC_ENV.publicAttributes], '{"only":["github_username","days_completed"]}');
    });

    it("refuses public attributes that would leave out the key, or give both lists, naming the key", async function () {
      this.timeout(60_000);
      for (const publicAttributes of [
        { only: ["days_completed"] },
        { except: ["github_username"] },
        { only: ["github_username"], except: ["email"] },
        {},
      ]) {
        const err = await variantConfigError("dev", (config) => {
          config["tributary:hdoc"].api.publicAttributes = publicAttributes;
        });
        assert.ok(
          err.problems.some((p) => p.key.startsWith("tributary:hdoc.api.publicAttributes")),
          JSON.stringify(err.problems),
        );
      }
    });

    it("leaves both routes public in every stack, as the frontend calls them without a token", () => {
      for (const run of [dev, prod])
        for (const key of ["GET /user", "GET /users"]) assert.equal(route(run, key).inputs.authorizationType, "NONE");
    });

    it("protects every route with a Cognito JWT authorizer when config marks them (staging)", () => {
      const authorizer = named(staging, "aws:apigatewayv2/authorizer:Authorizer", "hdoc-api-jwt");
      const pool = named(staging, "aws:cognito/userPool:UserPool", "hdoc-auth");
      assert.equal(authorizer.inputs.authorizerType, "JWT");
      assert.deepEqual(authorizer.rawInputs.jwtConfiguration, {
        issuer: `https://${pool.state.endpoint}`,
        audiences: [named(staging, "aws:cognito/userPoolClient:UserPoolClient", "hdoc-auth-client").id],
      });
      assert.deepEqual(
        HDOC_ROUTES.map((r) => r.routeKey),
        [...HDOC_ROUTE_KEYS],
      );
      for (const key of HDOC_ROUTE_KEYS) {
        assert.equal(route(staging, key).inputs.authorizationType, "JWT", key);
        assert.equal(route(staging, key).rawInputs.authorizerId, authorizer.id, key);
      }
    });

    it("refuses to protect one route that reads the users and leave the other open, naming the key", async function () {
      this.timeout(60_000);
      for (const [only, open] of [
        ["GET /users", "GET /user"],
        ["GET /user", "GET /users"],
      ]) {
        const err = await variantConfigError("dev", (config) => {
          config["tributary:hdoc"].api.protectedRoutes = [only];
        });
        assert.deepEqual(
          err.problems.map((p) => p.key),
          ["tributary:hdoc.api.protectedRoutes"],
        );
        assert.match(err.message, new RegExp(`protects ${only} but not ${open}, which reads the same users`));
      }
    });
  });

  describe("Frontend", () => {
    it("keeps the site in a private bucket that only the distribution can read", () => {
      const bucket = named(dev, "aws:s3/bucket:Bucket", "hdoc-frontend-site");
      const block = named(dev, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "hdoc-frontend-site-public-access").inputs;
      assert.deepEqual(
        [block.blockPublicAcls, block.blockPublicPolicy, block.ignorePublicAcls, block.restrictPublicBuckets],
        [true, true, true, true],
      );
      const distribution = named(dev, "aws:cloudfront/distribution:Distribution", "hdoc-frontend-cdn");
      const [statement] = policyOf(named(dev, "aws:s3/bucketPolicy:BucketPolicy", "hdoc-frontend-site-policy")).Statement;
      assert.deepEqual(statement.Principal, { Service: "cloudfront.amazonaws.com" });
      assert.equal(statement.Action, "s3:GetObject");
      assert.equal(statement.Resource, `${bucket.state.arn}/*`);
      assert.deepEqual(statement.Condition, { StringEquals: { "AWS:SourceArn": distribution.state.arn } });
    });

    it("versions the site bucket it creates, so that an overwritten or deleted file can be brought back; an adopted one once versioning is opted in", async function () {
      this.timeout(60_000);
      const versioning = (run: RunResult) =>
        ofType(run, "aws:s3/bucketVersioning:BucketVersioning").filter(
          (v) => v.rawInputs.bucket === named(run, "aws:s3/bucket:Bucket", "hdoc-frontend-site").id,
        );
      const [created] = versioning(dev);
      assert.equal(created.name, "hdoc-frontend-site-versioning");
      assert.deepEqual(created.inputs.versioningConfiguration, { status: "Enabled" });
      assert.deepEqual(versioning(prod), [], "the adopted bucket keeps its own versioning");
      const optedIn = await runVariant("prod", (config) => {
        config["tributary:hdoc"].hardening = { versioning: true };
      });
      assert.deepEqual(
        versioning(optedIn).map((v) => v.inputs.versioningConfiguration),
        [{ status: "Enabled" }],
      );
    });

    it("serves over HTTPS through origin access control, with index.html for the root and for 403 and 404", () => {
      const d = named(dev, "aws:cloudfront/distribution:Distribution", "hdoc-frontend-cdn").rawInputs;
      const oac = named(dev, "aws:cloudfront/originAccessControl:OriginAccessControl", "hdoc-frontend-oac");
      assert.equal(oac.inputs.originAccessControlOriginType, "s3");
      assert.equal(oac.inputs.signingBehavior, "always");
      assert.equal(d.origins[0].originAccessControlId, oac.id);
      assert.equal(d.origins[0].domainName, named(dev, "aws:s3/bucket:Bucket", "hdoc-frontend-site").state.bucketRegionalDomainName);
      assert.equal(d.defaultRootObject, "index.html");
      assert.equal(d.defaultCacheBehavior.viewerProtocolPolicy, "redirect-to-https");
      assert.deepEqual(
        d.customErrorResponses.map((r: any) => [r.errorCode, r.responseCode, r.responsePagePath]),
        [
          [403, 200, "/index.html"],
          [404, 200, "/index.html"],
        ],
      );
    });
  });

  describe("Frontend at its own domain", () => {
    const NAMES = ["100daysofcloud.example.com", "www.100daysofcloud.example.com"];

    it("serves the names as aliases with a DNS-validated certificate from us-east-1, whose validation records are outputs", async function () {
      this.timeout(60_000);
      const run = await runVariant("dev", (config) => {
        config["tributary:hdoc"].frontend = { domain: { names: NAMES } };
      });
      const certificate = named(run, "aws:acm/certificate:Certificate", "hdoc-frontend-certificate");
      assert.deepEqual(
        [certificate.inputs.domainName, certificate.inputs.subjectAlternativeNames, certificate.inputs.validationMethod],
        [NAMES[0], [NAMES[1]], "DNS"],
      );
      assert.match(certificate.state.arn, /^arn:aws:acm:us-east-1:/, "CloudFront reads certificates in us-east-1 only");
      const validation = named(run, "aws:acm/certificateValidation:CertificateValidation", "hdoc-frontend-certificate-validation");
      assert.equal(validation.inputs.validationRecordFqdns, undefined);
      const distribution = named(run, "aws:cloudfront/distribution:Distribution", "hdoc-frontend-cdn").rawInputs;
      assert.deepEqual(distribution.aliases, NAMES);
      assert.deepEqual(distribution.viewerCertificate, {
        acmCertificateArn: certificate.state.arn,
        sslSupportMethod: "sni-only",
        minimumProtocolVersion: "TLSv1.2_2021",
      });
      assert.deepEqual(
        run.outputs.hdocBackend.certificateValidationRecords.map((r: { name: string; type: string }) => [
          r.name.endsWith(`${NAMES[0]}.`),
          r.type,
        ]),
        [
          [true, "CNAME"],
          [true, "CNAME"],
        ],
      );
    });

    it("writes the validation records into a configured hosted zone and waits for them", async function () {
      this.timeout(60_000);
      const run = await runVariant("dev", (config) => {
        config["tributary:hdoc"].frontend = { domain: { names: NAMES, hostedZoneId: "Z0123456789ABCDEFGHIJ" } };
      });
      const records = ofType(run, "aws:route53/record:Record");
      assert.deepEqual(
        records.map((r) => [r.inputs.zoneId, r.inputs.type, r.inputs.ttl]),
        [
          ["Z0123456789ABCDEFGHIJ", "CNAME", 300],
          ["Z0123456789ABCDEFGHIJ", "CNAME", 300],
        ],
      );
      const certificate = named(run, "aws:acm/certificate:Certificate", "hdoc-frontend-certificate");
      assert.deepEqual(
        records.map((r) => r.rawInputs.records[0]),
        certificate.state.domainValidationOptions.map((o: { resourceRecordValue: string }) => o.resourceRecordValue),
      );
      assert.deepEqual(
        named(run, "aws:acm/certificateValidation:CertificateValidation", "hdoc-frontend-certificate-validation").rawInputs
          .validationRecordFqdns,
        records.map((r) => r.state.fqdn),
      );
    });

    it("serves at the distribution's own name, with CloudFront's certificate, without a domain", () => {
      const distribution = named(dev, "aws:cloudfront/distribution:Distribution", "hdoc-frontend-cdn").rawInputs;
      assert.equal(distribution.aliases, undefined);
      assert.deepEqual(distribution.viewerCertificate, { cloudfrontDefaultCertificate: true });
    });
  });

  it("exports the API URL, the user-pool id, the client id, the domain, the bucket and the distribution's domain", () => {
    const out = dev.outputs.hdocBackend;
    assert.equal(out.apiUrl, named(dev, "aws:apigatewayv2/api:Api", "hdoc-api").state.apiEndpoint);
    assert.equal(out.userPoolId, named(dev, "aws:cognito/userPool:UserPool", "hdoc-auth").id);
    assert.equal(out.clientId, named(dev, "aws:cognito/userPoolClient:UserPoolClient", "hdoc-auth-client").id);
    assert.equal(out.domain, "hdoc-dev-tributary");
    assert.equal(out.bucketName, named(dev, "aws:s3/bucket:Bucket", "hdoc-frontend-site").state.bucket);
    assert.equal(out.distributionDomain, named(dev, "aws:cloudfront/distribution:Distribution", "hdoc-frontend-cdn").state.domainName);
  });
});
