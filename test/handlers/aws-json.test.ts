/**
 * handlers/lib/aws-json.ts without SDK clients: endpoints resolved as the clients resolve
 * them, from the same settings, and SQS's SendMessage sent as SQSClient sends it.
 */
import * as assert from "node:assert/strict";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { getEndpointFromInstructions } from "@smithy/core/endpoints";
import { AwsJsonClient } from "../../handlers/lib/aws-json";
import { DynamoDBJson } from "../../handlers/lib/dynamodb";
import { EVENTBRIDGE, EventBridgeSender } from "../../handlers/lib/eventbridge";
import { SqsSender } from "../../handlers/lib/sqs-send";
import { SSM } from "../../handlers/lib/ssm-fetcher";
import { closedPort } from "../helpers/run-script";
import { LOCAL_CREDENTIALS, localClientConfig, setEnv } from "../../tooling/local/aws";
import { type FakeSqs, startFakeSqs } from "../../tooling/local/fake-sqs";
import { type HttpStub, startStub } from "../../tooling/local/http-stub";

/** Every setting the endpoint depends on, cleared unless a case sets it. */
const ENDPOINT_SETTINGS = [
  "AWS_REGION",
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_DYNAMODB",
  "AWS_ENDPOINT_URL_SQS",
  "AWS_ENDPOINT_URL_SSM",
  "AWS_ENDPOINT_URL_EVENTBRIDGE",
  "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
  "AWS_USE_FIPS_ENDPOINT",
  "AWS_USE_DUALSTACK_ENDPOINT",
  "AWS_ACCOUNT_ID",
  "AWS_ACCOUNT_ID_ENDPOINT_MODE",
  "AWS_CONFIG_FILE",
  "AWS_PROFILE",
];

const CASES: { name: string; env: Record<string, string> }[] = [
  { name: "a commercial region", env: { AWS_REGION: "eu-west-2" } },
  { name: "China", env: { AWS_REGION: "cn-north-1" } },
  { name: "GovCloud with FIPS", env: { AWS_REGION: "us-gov-west-1", AWS_USE_FIPS_ENDPOINT: "true" } },
  { name: "dual-stack", env: { AWS_REGION: "eu-west-2", AWS_USE_DUALSTACK_ENDPOINT: "true" } },
  { name: "an account id in the environment", env: { AWS_REGION: "eu-west-2", AWS_ACCOUNT_ID: "123456789012" } },
  {
    name: "an account id with the mode disabled",
    env: { AWS_REGION: "eu-west-2", AWS_ACCOUNT_ID: "123456789012", AWS_ACCOUNT_ID_ENDPOINT_MODE: "disabled" },
  },
  { name: "AWS_ENDPOINT_URL", env: { AWS_REGION: "eu-west-2", AWS_ENDPOINT_URL: "http://127.0.0.1:4566" } },
  {
    name: "the service's own endpoint variable",
    env: {
      AWS_REGION: "eu-west-2",
      AWS_ENDPOINT_URL: "http://127.0.0.1:4566",
      AWS_ENDPOINT_URL_DYNAMODB: "http://127.0.0.1:8000",
      AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:9324",
      AWS_ENDPOINT_URL_SSM: "http://127.0.0.1:9325",
      AWS_ENDPOINT_URL_EVENTBRIDGE: "http://127.0.0.1:9326",
    },
  },
  {
    name: "configured endpoints ignored",
    env: { AWS_REGION: "eu-west-2", AWS_ENDPOINT_URL: "http://127.0.0.1:4566", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" },
  },
];

describe("AWS's JSON protocol without SDK clients (handlers/lib/aws-json.ts)", function () {
  this.timeout(30_000);

  describe("endpoints, as the SDK clients resolve them from the same settings", () => {
    let restore: () => void;
    beforeEach(() => {
      restore = setEnv(Object.fromEntries(ENDPOINT_SETTINGS.map((name) => [name, undefined])));
      // No shared config file: every setting comes from the case.
      process.env.AWS_CONFIG_FILE = "/nonexistent/aws-config";
    });
    afterEach(() => restore());

    for (const { name, env } of CASES) {
      it(`DynamoDB, SQS, SSM and EventBridge: ${name}`, async () => {
        Object.assign(process.env, env);
        const credentials = { ...LOCAL_CREDENTIALS, ...(env.AWS_ACCOUNT_ID ? { accountId: env.AWS_ACCOUNT_ID } : {}) };
        const dynamodb = new DynamoDBClient({ credentials });
        const sdkDynamo = await getEndpointFromInstructions({ TableName: "users" }, GetItemCommand, dynamodb.config as never);
        assert.equal((await new DynamoDBJson({ credentials }).endpoint()).href, sdkDynamo.url.href);
        const sqs = new SQSClient({ credentials });
        const sdkSqs = await getEndpointFromInstructions({}, SendMessageCommand, sqs.config as never);
        assert.equal((await new SqsSender({ credentials }).endpoint()).href, sdkSqs.url.href);
        const ssm = new SSMClient({ credentials });
        const sdkSsm = await getEndpointFromInstructions({}, GetParameterCommand, ssm.config as never);
        assert.equal((await new AwsJsonClient(SSM, { credentials }).endpoint()).href, sdkSsm.url.href);
        const events = new EventBridgeClient({ credentials });
        const sdkEvents = await getEndpointFromInstructions({}, PutEventsCommand, events.config as never);
        assert.equal((await new AwsJsonClient(EVENTBRIDGE, { credentials }).endpoint()).href, sdkEvents.url.href);
      });
    }
  });

  describe("SQS SendMessage", () => {
    let sqs: FakeSqs;
    before(async () => {
      sqs = await startFakeSqs();
    });
    after(() => sqs.close());

    it("sends the body SQSClient sends, to the queue URL's host when no endpoint is given", async () => {
      const bodies: string[] = [];
      const proxy: HttpStub = await startStub(async (req) => {
        bodies.push(req.body);
        const answer = await fetch(sqs.url, { method: "POST", headers: req.headers as Record<string, string>, body: req.body });
        return { status: answer.status, body: await answer.text(), headers: { "content-type": "application/x-amz-json-1.0" } };
      });
      const restore = setEnv({ AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${await closedPort()}`, AWS_REGION: "eu-west-2" });
      try {
        // The endpoint variable points nowhere: both clients send to the queue URL's host.
        const input = { QueueUrl: `${proxy.url}/000000000000/users`, MessageBody: "LBAAJH é☃" };
        const ours = await new SqsSender({ credentials: LOCAL_CREDENTIALS }).sendMessage(input);
        // SQSClient warns that it sends to the queue URL's host, as it should here.
        const quiet = { debug() {}, info() {}, warn() {}, error() {} };
        const theirs = await new SQSClient({ credentials: LOCAL_CREDENTIALS, logger: quiet }).send(new SendMessageCommand(input));
        assert.match(ours.MessageId, /./);
        assert.match(String(theirs.MessageId), /./);
        assert.equal(bodies.length, 2);
        assert.deepEqual(JSON.parse(bodies[0]), JSON.parse(bodies[1]));
        assert.deepEqual(
          sqs.messages.slice(-2).map((m) => m.body),
          ["LBAAJH é☃", "LBAAJH é☃"],
        );
      } finally {
        restore();
        await proxy.close();
      }
    });

    it("fails, as SQSClient does, when the answer's MD5 is not the body's, naming both, and does not retry", async () => {
      const liar = await startStub(() => ({ body: { MessageId: "m-1", MD5OfMessageBody: "0".repeat(32) } }));
      try {
        const err = await new SqsSender(localClientConfig(liar.url))
          .sendMessage({ QueueUrl: `${liar.url}/000000000000/users`, MessageBody: "LBAAJH" })
          .catch((e) => e);
        assert.equal(err.name, "InvalidChecksumError");
        assert.match(err.message, /MD5OfMessageBody 0{32} for a body whose MD5 is [0-9a-f]{32}/);
        assert.equal(liar.requests.length, 1, "a checksum error is not retried");
      } finally {
        await liar.close();
      }
    });

    it("names SQS's error as SQSClient does (QueueDoesNotExist, a client fault) and does not retry it", async () => {
      const sqsError = await startStub(() => ({
        status: 400,
        headers: { "x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender" },
        body: { __type: "com.amazonaws.sqs#QueueDoesNotExist", message: "The specified queue does not exist." },
      }));
      try {
        const input = { QueueUrl: `${sqsError.url}/000000000000/gone`, MessageBody: "x" };
        const ours = await new SqsSender(localClientConfig(sqsError.url)).sendMessage(input).catch((e) => e);
        const theirs = await new SQSClient(localClientConfig(sqsError.url)).send(new SendMessageCommand(input)).catch((e) => e);
        assert.equal(ours.name, "QueueDoesNotExist");
        assert.equal(ours.name, theirs.name);
        assert.equal(ours.message, theirs.message);
        assert.equal(ours.$fault, "client");
        assert.equal(ours.$metadata.httpStatusCode, 400);
        assert.equal(sqsError.requests.length, 2, "one request each");
      } finally {
        await sqsError.close();
      }
    });
  });

  it("sends PutEvents as EventBridgeClient sends it, and reads its answer", async () => {
    const requests: { target: unknown; contentType: unknown; body: unknown }[] = [];
    const eventBridge = await startStub((req) => {
      requests.push({ target: req.headers["x-amz-target"], contentType: req.headers["content-type"], body: JSON.parse(req.body) });
      return {
        headers: { "content-type": "application/x-amz-json-1.1" },
        body: { FailedEntryCount: 1, Entries: [{ EventId: "e-1" }, { ErrorCode: "InternalFailure", ErrorMessage: "try again" }] },
      };
    });
    try {
      const entries = [
        { EventBusName: "bus", Source: "records.local", DetailType: "CloudEvent", Detail: '{"id":"1","é":"☃"}' },
        { EventBusName: "bus", Source: "records.local", DetailType: "CloudEvent", Detail: '{"id":"2"}' },
      ];
      const ours = await new EventBridgeSender(localClientConfig(eventBridge.url)).putEvents(entries);
      const theirs = await new EventBridgeClient(localClientConfig(eventBridge.url)).send(new PutEventsCommand({ Entries: entries }));
      assert.deepEqual(requests[0], requests[1]);
      assert.deepEqual(requests[0], {
        target: "AWSEvents.PutEvents",
        contentType: "application/x-amz-json-1.1",
        body: { Entries: entries },
      });
      assert.deepEqual(ours, { FailedEntryCount: theirs.FailedEntryCount, Entries: theirs.Entries });
    } finally {
      await eventBridge.close();
    }
  });
});
