/**
 * handlers/lib/dynamodb.ts against dynalite, through the fault proxy: the same requests as the
 * SDK's DocumentClient sends, the same errors, and the SDK's retries.
 */
import * as assert from "node:assert/strict";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { HttpRequest } from "@smithy/core/transport";
import { AwsJsonSigner } from "../../handlers/lib/aws-json";
import { DynamoDBJson, documentsOf } from "../../handlers/lib/dynamodb";
import { localAwsEnv, localClientConfig, setEnv } from "../../tooling/local/aws";
import { type LocalDynamo, startDynalite } from "../../tooling/local/dynamo";
import { type FaultProxy, type ProxiedRequest, startFaultProxy } from "../../tooling/local/fault-proxy";

describe("DynamoDB's JSON protocol without the SDK's middleware (handlers/lib/dynamodb.ts)", function () {
  this.timeout(30_000);
  let dynamo: LocalDynamo;
  let proxy: FaultProxy;
  let seen: ProxiedRequest[] = [];
  let run = 0;
  let table: string;

  before(async () => {
    dynamo = await startDynalite();
    proxy = await startFaultProxy(dynamo.endpoint, { intercept: (request) => void seen.push(request) });
  });
  after(async () => {
    await proxy.close();
    await dynamo.close();
  });
  beforeEach(async () => {
    table = `items-${++run}`;
    await dynamo.createTable(table, { hashKey: "id" });
    proxy.inject({ kind: "throttle" }, 0);
    seen = [];
  });

  const config = () => localClientConfig(proxy.url);
  const item = { id: "a", n: 42, s: "é☃", list: ["x", 1, { m: true }], gone: undefined, nothing: null };

  it("sends the bodies lib-dynamodb's DocumentClient sends, and reads what it reads", async () => {
    const ours = documentsOf(config());
    const sdk = DynamoDBDocumentClient.from(new DynamoDBClient(config()), { marshallOptions: { removeUndefinedValues: true } });
    const put = {
      TableName: table,
      Item: item,
      ConditionExpression: "attribute_not_exists(id) OR n <= :n",
      ExpressionAttributeValues: { ":n": 50 },
    };
    const update = {
      TableName: table,
      Key: { id: "a" },
      UpdateExpression: "SET #l = list_append(#l, :v)",
      ExpressionAttributeNames: { "#l": "list" },
      ExpressionAttributeValues: { ":v": ["y"] },
    };
    const get = { TableName: table, Key: { id: "a" }, ConsistentRead: true };

    await ours.put(put);
    await ours.update(update);
    const read = await ours.get(get);
    const oursBodies = seen.map((r) => [r.operation, JSON.parse(r.body)]);
    seen = [];
    await sdk.send(new PutCommand(put));
    await sdk.send(new UpdateCommand(update));
    const { Item } = await sdk.send(new GetCommand(get));
    assert.deepEqual(
      oursBodies,
      seen.map((r) => [r.operation, JSON.parse(r.body)]),
    );
    assert.deepEqual(read, Item);
    assert.deepEqual(read, { id: "a", n: 42, s: "é☃", list: ["x", 1, { m: true }, "y"], nothing: null });
    assert.equal(await ours.get({ TableName: table, Key: { id: "nobody" } }), undefined);
  });

  it("fails a condition with the SDK's error: ConditionalCheckFailedException, a client fault, not retried", async () => {
    const ours = documentsOf(config());
    await ours.put({ TableName: table, Item: { id: "a" } });
    seen = [];
    const err = await ours.put({ TableName: table, Item: { id: "a" }, ConditionExpression: "attribute_not_exists(id)" }).catch((e) => e);
    assert.equal(err.name, "ConditionalCheckFailedException");
    assert.equal(err.$fault, "client");
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.match(err.message, /conditional request failed/i);
    assert.equal(seen.length, 1);
  });

  it("retries throttling, 5xx and dropped connections as the SDK does, then throws the last error", async () => {
    const json = new DynamoDBJson(config());
    const get = { TableName: table, Key: { id: { S: "a" } } };
    proxy.inject({ kind: "throttle" }, 2);
    assert.deepEqual(await json.call("GetItem", get), {});
    proxy.inject(
      {
        kind: "status",
        status: 503,
        body: JSON.stringify({ __type: "com.amazonaws.dynamodb.v20120810#ServiceUnavailable", message: "down" }),
      },
      1,
    );
    assert.deepEqual(await json.call("GetItem", get), {});
    proxy.inject({ kind: "reset" }, 1);
    assert.deepEqual(await json.call("GetItem", get), {});
    seen = [];
    proxy.inject({ kind: "throttle" }, 10);
    const err = await json.call("GetItem", get).catch((e) => e);
    assert.equal(err.name, "ProvisionedThroughputExceededException");
    assert.equal(err.$metadata.attempts, 3);
    assert.equal(seen.length, 3, "localClientConfig's 3 attempts");
  });

  it("does not retry a client error, and names it", async () => {
    const json = new DynamoDBJson(config());
    seen = [];
    const err = await json.call("GetItem", { TableName: "no-such-table", Key: { id: { S: "a" } } }).catch((e) => e);
    assert.equal(err.name, "ResourceNotFoundException");
    assert.equal(seen.length, 1);
  });

  it("finds its endpoint as the SDK does, in AWS_ENDPOINT_URL_DYNAMODB, and passes Lambda's trace header on", async () => {
    const restore = setEnv({
      ...localAwsEnv({ AWS_ENDPOINT_URL_DYNAMODB: proxy.url }),
      AWS_LAMBDA_FUNCTION_NAME: "f",
      _X_AMZN_TRACE_ID: "Root=1-5759e988-bd862e3fe1be46a994272793",
    });
    try {
      const json = new DynamoDBJson();
      seen = [];
      assert.deepEqual(await json.call("GetItem", { TableName: table, Key: { id: { S: "a" } } }), {});
      assert.deepEqual(
        seen.map((r) => [r.operation, r.headers["x-amzn-trace-id"]]),
        [["GetItem", "Root=1-5759e988-bd862e3fe1be46a994272793"]],
      );
      assert.match(
        String(seen[0].headers.authorization),
        /^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/eu-west-2\/dynamodb\/aws4_request, SignedHeaders=[^,]*x-amz-target[^,]*, Signature=[0-9a-f]{64}$/,
      );
    } finally {
      restore();
    }
  });

  it("signs as the SDK's SignatureV4 signs: the same headers, byte for byte", async () => {
    const cases = [
      {
        credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
        region: "eu-west-2",
        date: "2024-03-05T06:07:08.123Z",
      },
      {
        credentials: { accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "token/with+chars==" },
        region: "us-east-1",
        date: "2024-03-05T23:59:59.999Z",
      },
      {
        credentials: { accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "token/with+chars==" },
        region: "us-east-1",
        date: "2024-03-06T00:00:00.000Z",
      },
    ];
    // The signing names of the services aws-json.ts speaks, with an operation of each.
    const services = [
      ["dynamodb", "DynamoDB_20120810.GetItem", "1.0"],
      ["sqs", "AmazonSQS.SendMessage", "1.0"],
      ["ssm", "AmazonSSM.GetParameter", "1.1"],
      ["events", "AWSEvents.PutEvents", "1.1"],
    ] as const;
    for (const { credentials, region, date } of cases) {
      for (const [signingName, target, version] of services) {
        const sdkSigner = await (
          new DynamoDBClient({ region, credentials }).config as unknown as {
            signer: (s: unknown) => Promise<{ sign: (r: HttpRequest, o: unknown) => Promise<HttpRequest> }>;
          }
        ).signer({ name: "sigv4", signingName, signingRegion: region, properties: {} });
        const ours = new AwsJsonSigner(async () => credentials, region, signingName);
        for (const [body, trace] of [
          ['{"TableName":"t","Key":{"id":{"S":"é ☃"}}}', undefined],
          ["{}", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"],
        ] as const) {
          const headers: Record<string, string> = {
            host: `${signingName}.${region}.amazonaws.com`,
            "content-type": `application/x-amz-json-${version}`,
            "x-amz-target": target,
            "content-length": String(Buffer.byteLength(body)),
          };
          if (trace) headers["x-amzn-trace-id"] = trace;
          const sdk = await sdkSigner.sign(
            new HttpRequest({ protocol: "https:", hostname: headers.host, method: "POST", path: "/", headers: { ...headers }, body }),
            { signingDate: new Date(date) },
          );
          await ours.sign(headers, "/", body, new Date(date));
          assert.deepEqual(headers, sdk.headers, `${signingName} ${region} ${date} ${body}`);
        }
      }
    }
  });
});
