import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { ALMA_TABLES } from "../../components/alma/tables";
import type { AlmaCacheClients } from "../../handlers/lib/alma/cache";
import { loanReturned, loanUpdated, requestClosed, requestUpdated } from "../../handlers/lib/alma/handlers";
import { REQUEST_TTL_SECONDS } from "../../handlers/lib/alma/messages";
import { InvalidEventError } from "../../handlers/lib/events";
import { LOCAL_CREDENTIALS, type LocalDynamo, startDynalite } from "../../tooling/local/dynamo";
import { type FakeSqs, startFakeSqs } from "../../tooling/local/fake-sqs";
import { payloadPath } from "../helpers/fixtures";

const FIXTURES = payloadPath("alma-webhook");
/** The webhook body of a fixture: what the cache functions receive as the SNS Message. */
const body = (name: string): string => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")).body;
/** A request fixture with the user_primary_id that real deliveries carry. */
function requestBody(name: string, userPrimaryId = "LBAAJH"): string {
  const message = JSON.parse(body(name));
  message.user_request.user_primary_id = userPrimaryId;
  return JSON.stringify(message);
}
const snsEvent = (...messages: string[]) => ({
  Records: messages.map((Message, i) => ({ EventSource: "aws:sns", Sns: { MessageId: `m${i}`, TopicArn: "arn:aws:sns:eu-west-2:1:t", Message } })),
});

const NOW_MS = Date.parse("2018-02-23T12:00:00Z");
const USER = "lbaajh";

describe("alma cache handlers", function () {
  this.timeout(30_000);
  let dynamo: LocalDynamo;
  let sqs: FakeSqs;
  let clients: AlmaCacheClients;
  let dynamoRequests: string[];
  let run = 0;

  before(async () => {
    dynamo = await startDynalite();
    sqs = await startFakeSqs();
  });
  after(async () => {
    await dynamo.close();
    await sqs.close();
  });

  beforeEach(async () => {
    // Fresh tables for every test: dynalite keeps them in memory.
    run += 1;
    const tables = { users: `users-${run}`, loans: `loans-${run}`, requests: `requests-${run}` };
    for (const [key, schema] of Object.entries(ALMA_TABLES)) await dynamo.createTable(tables[key as keyof typeof tables], schema);
    // A client of its own per test, counting every request it sends.
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: "eu-west-2", credentials: LOCAL_CREDENTIALS });
    const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    dynamoRequests = [];
    client.middlewareStack.add(
      (next, context) => (args) => {
        dynamoRequests.push(String(context.commandName));
        return next(args);
      },
      { step: "initialize", name: "countRequests" },
    );
    sqs.messages.length = 0;
    clients = {
      documents,
      sqs: new SQSClient({ endpoint: sqs.url, region: "eu-west-2", credentials: LOCAL_CREDENTIALS }),
      tables,
      usersQueueUrl: sqs.queueUrl("users"),
      now: () => NOW_MS,
    };
  });

  const putUser = (expiry: number, extra: Record<string, unknown> = {}) =>
    dynamo.documents.send(new PutCommand({ TableName: clients.tables.users, Item: { primary_id: USER, expiry_date: expiry, ...extra } }));
  const getUser = async () => (await dynamo.documents.send(new GetCommand({ TableName: clients.tables.users, Key: { primary_id: USER } }))).Item;
  const FUTURE = NOW_MS / 1000 + 86400;
  const PAST = NOW_MS / 1000 - 1;

  describe("loan-updated", () => {
    it("stores the loan of each real fixture and links it to a cached user in 2 DynamoDB requests", async () => {
      await putUser(FUTURE);
      for (const fixture of ["loan_created_event", "loan_renewed_event", "loan_due_date_event"]) {
        dynamoRequests.length = 0;
        const result = await loanUpdated(clients)(snsEvent(body(fixture)));
        assert.deepEqual(result, { records: 1, linked: 1, queued: 0 });
        assert.deepEqual(dynamoRequests, ["PutItemCommand", "UpdateItemCommand"]);
      }
      const [loan] = await dynamo.scan(clients.tables.loans);
      assert.deepEqual(loan, {
        loan_id: "18263808770001221",
        user_id: "lbaajh",
        renewable: false,
        call_number: "owncopy",
        loan_status: "ACTIVE",
        due_date: "2018-02-23T14:10:06Z",
        item_barcode: "12345",
        mms_id: "9919045950001221",
        title: "Journey",
        author: "Trip, A",
        description: "book",
        process_status: "NORMAL",
        expiry_date: Date.parse("2018-02-23T14:10:06Z") / 1000,
      });
      assert.deepEqual((await getUser())?.loan_ids, new Set(["18263808770001221"]));
      assert.equal(sqs.messages.length, 0);
    });

    it("stores expiry_date 0 for a loan with no due date", async () => {
      const message = JSON.parse(body("loan_created_event"));
      delete message.item_loan.due_date;
      await loanUpdated(clients)(snsEvent(JSON.stringify(message)));
      assert.equal((await dynamo.scan(clients.tables.loans))[0].expiry_date, 0);
    });

    it("queues a user the cache does not know", async () => {
      const result = await loanUpdated(clients)(snsEvent(body("loan_created_event")));
      assert.deepEqual(result, { records: 1, linked: 0, queued: 1 });
      assert.deepEqual(sqs.messages.map((m) => [m.queueUrl, m.body]), [[sqs.queueUrl("users"), USER]]);
      assert.equal((await dynamo.scan(clients.tables.loans)).length, 1, "the loan is cached all the same");
      assert.equal(await getUser(), undefined, "no half-made user record");
    });

    it("queues a user whose cached record has expired, and leaves the record alone", async () => {
      await putUser(PAST);
      const result = await loanUpdated(clients)(snsEvent(body("loan_created_event")));
      assert.equal(result.queued, 1);
      assert.deepEqual(await getUser(), { primary_id: USER, expiry_date: PAST });
    });

    it("keeps all 20 ids when 20 events for one user arrive at once", async () => {
      await putUser(FUTURE);
      const ids = Array.from({ length: 20 }, (_, i) => `loan-${i}`);
      await Promise.all(
        ids.map((id) => {
          const message = JSON.parse(body("loan_created_event"));
          message.item_loan.loan_id = id;
          return loanUpdated(clients)(snsEvent(JSON.stringify(message)));
        }),
      );
      assert.deepEqual(await getUser().then((u) => [...u?.loan_ids].sort()), [...ids].sort());
      assert.equal((await dynamo.scan(clients.tables.loans)).length, 20);
    });

    it("leaves the same state after a duplicate delivery", async () => {
      await putUser(FUTURE, { loan_ids: new Set(["other-loan"]) });
      await loanUpdated(clients)(snsEvent(body("loan_created_event")));
      const once = { user: await getUser(), loans: await dynamo.scan(clients.tables.loans) };
      await loanUpdated(clients)(snsEvent(body("loan_created_event")));
      assert.deepEqual({ user: await getUser(), loans: await dynamo.scan(clients.tables.loans) }, once);
      assert.deepEqual(once.user?.loan_ids, new Set(["other-loan", "18263808770001221"]));
    });

    it("handles every record of the event, not just the first", async () => {
      await putUser(FUTURE);
      const second = JSON.parse(body("loan_created_event"));
      second.item_loan.loan_id = "second-loan";
      const result = await loanUpdated(clients)(snsEvent(body("loan_created_event"), JSON.stringify(second)));
      assert.deepEqual(result, { records: 2, linked: 2, queued: 0 });
      assert.deepEqual((await getUser())?.loan_ids, new Set(["18263808770001221", "second-loan"]));
    });
  });

  describe("loan-returned", () => {
    it("deletes the loan and removes its id from the user", async () => {
      await putUser(FUTURE, { loan_ids: new Set(["18263808770001221", "kept"]) });
      await loanUpdated(clients)(snsEvent(body("loan_created_event")));
      const result = await loanReturned(clients)(snsEvent(body("loan_returned_event")));
      assert.deepEqual(result, { records: 1, linked: 1, queued: 0 });
      assert.deepEqual(await dynamo.scan(clients.tables.loans), []);
      assert.deepEqual((await getUser())?.loan_ids, new Set(["kept"]));
      await loanReturned(clients)(snsEvent(body("loan_returned_event")));
      assert.deepEqual((await getUser())?.loan_ids, new Set(["kept"]), "a duplicate return changes nothing");
    });

    it("queues an unknown user", async () => {
      assert.equal((await loanReturned(clients)(snsEvent(body("loan_returned_event")))).queued, 1);
      assert.equal(sqs.messages[0].body, USER);
    });
  });

  describe("request-updated and request-closed", () => {
    it("stores the request with a TTL two weeks after the event, and links it to the user", async () => {
      await putUser(FUTURE);
      for (const fixture of ["request_created_event", "request_placed_on_shelf_event"]) {
        assert.equal((await requestUpdated(clients)(snsEvent(requestBody(fixture)))).linked, 1);
      }
      const [request] = await dynamo.scan(clients.tables.requests);
      assert.equal(request.request_id, "83013520000121");
      assert.equal(request.user_primary_id, USER);
      assert.equal(request.request_type, "HOLD");
      assert.deepEqual(request.material_type, { value: "BK", desc: "Book" });
      assert.equal(request.place_in_queue, 1);
      const eventTime = Date.parse(JSON.parse(requestBody("request_created_event")).time) / 1000;
      assert.equal(request.record_expiry_date, Math.floor(eventTime) + REQUEST_TTL_SECONDS);
      assert.deepEqual((await getUser())?.request_ids, new Set(["83013520000121"]));
    });

    it("leaves the same state after a duplicate delivery", async () => {
      await putUser(FUTURE);
      await requestUpdated(clients)(snsEvent(requestBody("request_created_event")));
      const once = await dynamo.scan(clients.tables.requests);
      clients.now = () => NOW_MS + 3600_000;
      await requestUpdated(clients)(snsEvent(requestBody("request_created_event")));
      assert.deepEqual(await dynamo.scan(clients.tables.requests), once);
    });

    it("deletes a closed or canceled request and removes its id", async () => {
      await putUser(FUTURE, { request_ids: new Set(["83013520000121", "kept"]) });
      await requestUpdated(clients)(snsEvent(requestBody("request_created_event")));
      await requestClosed(clients)(snsEvent(requestBody("request_closed_event")));
      assert.deepEqual(await dynamo.scan(clients.tables.requests), []);
      assert.deepEqual((await getUser())?.request_ids, new Set(["kept"]));
      assert.equal((await requestClosed(clients)(snsEvent(requestBody("request_canceled_event")))).linked, 1);
    });

    it("rejects the real request fixtures, which lack user_primary_id, and writes nothing", async () => {
      for (const [handler, fixture] of [
        [requestUpdated, "request_created_event"],
        [requestUpdated, "request_placed_on_shelf_event"],
        [requestClosed, "request_closed_event"],
        [requestClosed, "request_canceled_event"],
      ] as const) {
        await assert.rejects(
          handler(clients)(snsEvent(body(fixture))),
          (err: unknown) => err instanceof InvalidEventError && /Records\[0\]\.Sns\.Message\.user_request\.user_primary_id/.test(err.message),
        );
      }
      assert.deepEqual(dynamoRequests, []);
      assert.equal(sqs.messages.length, 0);
    });
  });

  describe("malformed messages", () => {
    it("names the record and the field, and writes nothing when any record is bad", async () => {
      const noLoanId = JSON.parse(body("loan_created_event"));
      delete noLoanId.item_loan.loan_id;
      const noUser = JSON.parse(body("loan_created_event"));
      noUser.item_loan.user_id = "";
      const cases: [unknown, RegExp][] = [
        [snsEvent(body("loan_created_event"), "not json"), /Records\[1\]\.Sns\.Message: is not JSON/],
        [snsEvent(body("loan_created_event"), JSON.stringify(noLoanId)), /Records\[1\]\.Sns\.Message\.item_loan\.loan_id/],
        [snsEvent(JSON.stringify(noUser)), /Records\[0\]\.Sns\.Message\.item_loan\.user_id: must not be empty/],
        [snsEvent(JSON.stringify({ user_request: {} })), /Records\[0\]\.Sns\.Message\.item_loan/],
        [{ Records: [] }, /Records: must hold at least one record/],
        [{}, /invalid SNS event: Records/],
      ];
      for (const [event, message] of cases) await assert.rejects(loanUpdated(clients)(event), message);
      assert.deepEqual(dynamoRequests, [], "nothing was written");
      assert.equal(sqs.messages.length, 0);
    });
  });
});
