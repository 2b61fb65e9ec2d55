import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { type AttributeValue, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { CACHE_QUEUE_RETENTION_SECONDS } from "../../apps/alma/alma-cache";
import { ALMA_TABLES, TOMBSTONES_TABLE } from "../../apps/alma/tables";
import { DEAD_LETTER_RETENTION_SECONDS } from "../../components/events/dead-letter-queue";
import { type AlmaCacheClients, TOMBSTONE_TTL_SECONDS } from "../../handlers/alma/cache";
import { documentsOf } from "../../handlers/lib/dynamodb";
import { SqsSender } from "../../handlers/lib/sqs-send";
import { BatchFailedError, loanReturned, loanUpdated, requestClosed, requestUpdated } from "../../handlers/alma/cache-functions";
import {
  EVENT_TIME_ATTRIBUTE,
  LOAN_ATTRIBUTES,
  REQUEST_ATTRIBUTES,
  REQUEST_TTL_SECONDS,
  USER_ATTRIBUTES,
} from "../../handlers/alma/schema";
import { InvalidEventError } from "../../handlers/lib/events";
import { localClientConfig } from "../../tooling/local/aws";
import { type LocalDynamo, startDynalite } from "../../tooling/local/dynamo";
import { type FaultProxy, startFaultProxy } from "../../tooling/local/fault-proxy";
import { type FakeSqs, startFakeSqs } from "../../tooling/local/fake-sqs";
import { simultaneousReturns } from "../../scripts/bench/contention";
import { queuedSnsEvent, snsNotification, sqsEvent } from "../../scripts/events/wrap";
import { readAsDynamoose } from "../helpers/dynamoose-reader";
import { captureLogs } from "../helpers/logs";
import { payloadPath } from "../helpers/fixtures";

const FIXTURES = payloadPath("alma-webhook");
/** The webhook body of a fixture: what the cache functions receive as the SNS Message. */
const body = (name: string): string => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")).body;
/** A fixture's message, changed: request fixtures get the user_primary_id that real deliveries carry. */
function message(name: string, change: (m: any) => void = () => undefined): string {
  const m = JSON.parse(body(name));
  if (m.user_request) m.user_request.user_primary_id = "LBAAJH";
  change(m);
  return JSON.stringify(m);
}
const at = (time: string) => (m: any) => (m.time = time);
const snsEvent = (...messages: string[]) => ({
  Records: messages.map((Message, i) => ({
    EventSource: "aws:sns",
    Sns: { MessageId: `m${i}`, TopicArn: "arn:aws:sns:eu-west-2:1:t", Message },
  })),
});

const NOW_MS = Date.parse("2018-02-23T12:00:00Z");
const USER = "lbaajh";
const LOAN = "18263808770001221";
const REQUEST = "83013520000121";
const none = { linked: 0, unlinked: 0, unchanged: 0, queued: 0, unlinkedRecord: 0, stale: 0 };
/** An item without the event time we keep beside the schema's attributes. */
const withoutEventTime = ({ [EVENT_TIME_ATTRIBUTE]: _, ...item }: Record<string, unknown>) => item;

describe("alma cache handlers", function () {
  this.timeout(30_000);
  let dynamo: LocalDynamo;
  /** In front of dynalite: it sees the handlers' requests, not the tests' own reads and writes. */
  let proxy: FaultProxy;
  let sqs: FakeSqs;
  let clients: AlmaCacheClients;
  let dynamoRequests: string[];
  let run = 0;

  before(async () => {
    dynamo = await startDynalite();
    proxy = await startFaultProxy(dynamo.endpoint);
    sqs = await startFakeSqs();
  });
  after(async () => {
    await proxy.close();
    await dynamo.close();
    await sqs.close();
  });

  beforeEach(async () => {
    // Fresh tables for every test: dynalite keeps them in memory.
    run += 1;
    const tables = { users: `users-${run}`, loans: `loans-${run}`, requests: `requests-${run}`, tombstones: `tombstones-${run}` };
    for (const [key, schema] of Object.entries(ALMA_TABLES)) await dynamo.createTable(tables[key as keyof typeof ALMA_TABLES], schema);
    await dynamo.createTable(tables.tombstones, TOMBSTONES_TABLE);
    // A client of its own per test; the proxy records every request it sends.
    proxy.operations.length = 0;
    dynamoRequests = proxy.operations;
    sqs.messages.length = 0;
    clients = {
      documents: documentsOf(localClientConfig(proxy.url)),
      sqs: new SqsSender(localClientConfig(sqs.url)),
      tables,
      usersQueueUrl: sqs.queueUrl("users"),
      now: () => NOW_MS,
    };
  });

  const FUTURE = NOW_MS / 1000 + 86400;
  const PAST = NOW_MS / 1000 - 1;
  /** A user as the bulk-update service writes it: the three lists, `[]` when empty. */
  const putUser = (expiry: number, lists: Record<string, string[]> = {}) =>
    dynamo.documents.send(
      new PutCommand({
        TableName: clients.tables.users,
        Item: { primary_id: USER, loan_ids: [], request_ids: [], fee_ids: [], expiry_date: expiry, ...lists },
      }),
    );
  const getUser = async () =>
    (await dynamo.documents.send(new GetCommand({ TableName: clients.tables.users, Key: { primary_id: USER } }))).Item;
  /** An item as DynamoDB holds it, types and all. */
  const rawItem = async (table: string, key: Record<string, AttributeValue>) =>
    (await dynamo.client.send(new GetItemCommand({ TableName: table, Key: key }))).Item;
  const loans = () => dynamo.scan(clients.tables.loans);
  const requests = () => dynamo.scan(clients.tables.requests);

  describe("items as LAG-Alma-Utils v0.7 writes them", () => {
    it("stores a loan with only the schema's attributes and types, readable by LAG-api-gateway", async () => {
      await putUser(FUTURE);
      await loanUpdated(clients)(snsEvent(message("loan_created_event")));
      const raw = (await rawItem(clients.tables.loans, { loan_id: { S: LOAN } }))!;
      assert.deepEqual(readAsDynamoose(LOAN_ATTRIBUTES, raw), {
        loan_id: LOAN,
        user_id: USER,
        renewable: false,
        call_number: "owncopy",
        loan_status: "ACTIVE",
        due_date: "2018-02-23T14:10:06Z",
        expiry_date: Date.parse("2018-02-23T14:10:06Z") / 1000,
        item_barcode: "12345",
        mms_id: "9919045950001221",
        title: "Journey",
        author: "Trip, A",
        description: "book",
        process_status: "NORMAL",
      });
      assert.deepEqual(raw.renewable, { BOOL: false });
      // Alma's other fields (library, circ_desk, loan_date, ...) are not stored; the event's time is, for ordering.
      assert.deepEqual(
        Object.keys(raw).filter((k) => !(k in LOAN_ATTRIBUTES)),
        [EVENT_TIME_ATTRIBUTE],
      );
      assert.deepEqual(raw[EVENT_TIME_ATTRIBUTE], { N: String(Date.parse("2018-02-23T11:10:12.005Z")) });
    });

    it("stores strings as strings, leaves nulls and empty values out, and lower-cases user ids", async () => {
      await putUser(FUTURE);
      const withNumbers = message("loan_created_event", (m) => {
        m.item_loan.publication_year = 2001;
        m.item_loan.call_number = 42;
        m.item_loan.author = null;
        m.item_loan.description = "";
      });
      await loanUpdated(clients)(snsEvent(withNumbers));
      const raw = (await rawItem(clients.tables.loans, { loan_id: { S: LOAN } }))!;
      assert.deepEqual(raw.publication_year, { S: "2001" });
      assert.deepEqual(raw.call_number, { S: "42" });
      assert.equal(raw.author, undefined);
      assert.equal(raw.description, undefined);
      assert.deepEqual(raw.user_id, { S: USER });
    });

    it("stores a request as Alma's sample has it: place_in_queue as a string, no null author, maps of value and desc", async () => {
      await putUser(FUTURE);
      await requestUpdated(clients)(snsEvent(message("request_created_event")));
      const raw = (await rawItem(clients.tables.requests, { request_id: { S: REQUEST } }))!;
      assert.deepEqual(raw.place_in_queue, { S: "1" });
      assert.equal(raw.author, undefined);
      assert.deepEqual(raw.material_type, { M: { value: { S: "BK" }, desc: { S: "Book" } } });
      const read = readAsDynamoose(REQUEST_ATTRIBUTES, raw);
      for (const [name, attribute] of Object.entries(REQUEST_ATTRIBUTES)) {
        if (attribute.type === "string" && read[name] !== undefined) assert.doesNotMatch(String(read[name]), /^\{"(N|NULL|BOOL)"/, name);
      }
      assert.equal(read.user_primary_id, USER);
      assert.equal(read.record_expiry_date, NOW_MS / 1000 + REQUEST_TTL_SECONDS, "two weeks from when it is written");
    });

    it("keeps the user's lists DynamoDB Lists of strings, readable as arrays", async () => {
      await putUser(FUTURE);
      await loanUpdated(clients)(snsEvent(message("loan_created_event")));
      await requestUpdated(clients)(snsEvent(message("request_created_event")));
      const raw = (await rawItem(clients.tables.users, { primary_id: { S: USER } }))!;
      assert.deepEqual(raw.loan_ids, { L: [{ S: LOAN }] });
      assert.deepEqual(readAsDynamoose(USER_ATTRIBUTES, raw), {
        primary_id: USER,
        loan_ids: [LOAN],
        request_ids: [REQUEST],
        fee_ids: [],
        expiry_date: FUTURE,
      });
    });

    it("creates a List, not a String Set, for a user without the attribute", async () => {
      await dynamo.documents.send(new PutCommand({ TableName: clients.tables.users, Item: { primary_id: USER, expiry_date: FUTURE } }));
      await loanUpdated(clients)(snsEvent(message("loan_created_event")));
      const raw = (await rawItem(clients.tables.users, { primary_id: { S: USER } }))!;
      assert.deepEqual(raw.loan_ids, { L: [{ S: LOAN }] });
      assert.deepEqual(readAsDynamoose(USER_ATTRIBUTES, raw).loan_ids, [LOAN]);
    });
  });

  describe("the users' id lists, race-free", () => {
    it("links a new loan to a cached user with 3 DynamoDB requests: the item, its tombstone, the user", async () => {
      await putUser(FUTURE);
      const result = await loanUpdated(clients)(snsEvent(message("loan_created_event")));
      assert.deepEqual(result, { records: 1, ...none, linked: 1 });
      assert.deepEqual(dynamoRequests, ["PutItem", "GetItem", "UpdateItem"]);
      assert.equal(sqs.messages.length, 0);
    });

    it("keeps exactly 20 ids, none twice, when 20 events for one user arrive at once, and each twice", async () => {
      await putUser(FUTURE, { loan_ids: ["kept"] });
      const ids = Array.from({ length: 20 }, (_, i) => `loan-${i}`);
      const events = ids.map((id) => snsEvent(message("loan_created_event", (m) => (m.item_loan.loan_id = id))));
      await Promise.all([...events, ...events].map((event) => loanUpdated(clients)(event)));
      const loanIds: string[] = (await getUser())?.loan_ids;
      assert.equal(loanIds.length, 21);
      assert.deepEqual([...loanIds].sort(), ["kept", ...ids].sort());
      assert.equal((await loans()).length, 20);
    });

    it("changes nothing on a redelivered event", async () => {
      await putUser(FUTURE, { loan_ids: ["other-loan"] });
      await loanUpdated(clients)(snsEvent(message("loan_created_event")));
      const once = { user: await getUser(), loans: await loans() };
      const again = await loanUpdated(clients)(snsEvent(message("loan_created_event")));
      assert.deepEqual(again, { records: 1, ...none, unchanged: 1 });
      assert.deepEqual({ user: await getUser(), loans: await loans() }, once);
      assert.deepEqual(once.user?.loan_ids, ["other-loan", LOAN]);
    });

    it("loses no concurrent add while ids are removed", async () => {
      const start = Array.from({ length: 10 }, (_, i) => `old-${i}`);
      await putUser(FUTURE, { loan_ids: start });
      const returns = start
        .slice(0, 5)
        .map((id) => loanReturned(clients)(snsEvent(message("loan_returned_event", (m) => (m.item_loan.loan_id = id)))));
      const adds = Array.from({ length: 5 }, (_, i) =>
        loanUpdated(clients)(snsEvent(message("loan_created_event", (m) => (m.item_loan.loan_id = `new-${i}`)))),
      );
      await Promise.all([...returns, ...adds]);
      assert.deepEqual([...(await getUser())!.loan_ids].sort(), [...start.slice(5), "new-0", "new-1", "new-2", "new-3", "new-4"].sort());
    });

    it("removes every copy of an id that an older writer duplicated", async () => {
      await putUser(FUTURE, { loan_ids: [LOAN, "kept", LOAN] });
      const result = await loanReturned(clients)(snsEvent(message("loan_returned_event")));
      assert.deepEqual(result, { records: 1, ...none, unlinked: 1 });
      assert.deepEqual((await getUser())?.loan_ids, ["kept"]);
    });

    it("queues a user the cache does not know, with the id as Alma sent it, and writes no user", async () => {
      const result = await loanUpdated(clients)(snsEvent(message("loan_created_event")));
      assert.deepEqual(result, { records: 1, ...none, queued: 1 });
      assert.deepEqual(
        sqs.messages.map((m) => [m.queueUrl, m.body]),
        [[sqs.queueUrl("users"), "LBAAJH"]],
      );
      assert.deepEqual(dynamoRequests, ["PutItem", "GetItem", "UpdateItem", "GetItem"]);
      assert.equal((await loans()).length, 1, "the loan is cached all the same");
      assert.equal(await getUser(), undefined, "no half-made user record");
    });

    it("queues a user whose record has expired and leaves it alone; one expiring this second is still valid", async () => {
      await putUser(PAST);
      assert.equal((await loanUpdated(clients)(snsEvent(message("loan_created_event")))).queued, 1);
      assert.deepEqual((await getUser())?.loan_ids, []);
      await putUser(NOW_MS / 1000);
      assert.equal((await loanUpdated(clients)(snsEvent(message("loan_created_event")))).linked, 1);
    });

    it("handles every record of the event, not just the first", async () => {
      await putUser(FUTURE);
      const second = message("loan_created_event", (m) => (m.item_loan.loan_id = "second-loan"));
      const result = await loanUpdated(clients)(snsEvent(message("loan_created_event"), second));
      assert.deepEqual(result, { records: 2, ...none, linked: 2 });
      assert.deepEqual((await getUser())?.loan_ids, [LOAN, "second-loan"]);
    });
  });

  describe("event order", () => {
    it("does not bring back a loan returned at 13:00 with a LOAN_CREATED of 11:10 that arrives late", async () => {
      await putUser(FUTURE);
      await loanUpdated(clients)(snsEvent(message("loan_created_event", at("2018-02-23T11:10:00Z"))));
      await loanReturned(clients)(snsEvent(message("loan_returned_event", at("2018-02-23T13:00:00Z"))));
      const late = await loanUpdated(clients)(snsEvent(message("loan_created_event", at("2018-02-23T11:10:00Z"))));
      assert.deepEqual(late, { records: 1, ...none, stale: 1 });
      assert.deepEqual(await loans(), []);
      assert.deepEqual((await getUser())?.loan_ids, []);
    });

    it("does not bring it back either when the return was handled before the creation ever arrived", async () => {
      await putUser(FUTURE);
      await loanReturned(clients)(snsEvent(message("loan_returned_event", at("2018-02-23T13:00:00Z"))));
      assert.equal((await loanUpdated(clients)(snsEvent(message("loan_created_event", at("2018-02-23T11:10:00Z"))))).stale, 1);
      assert.deepEqual(await loans(), []);
      assert.deepEqual((await getUser())?.loan_ids, []);
    });

    it("keeps the newer due date when an older LOAN_RENEWED arrives after a newer LOAN_DUE_DATE", async () => {
      await putUser(FUTURE);
      const dueDate = message(
        "loan_due_date_event",
        (m) => ((m.time = "2018-03-01T09:00:00Z"), (m.item_loan.due_date = "2018-03-08T14:00:00Z")),
      );
      const renewed = message(
        "loan_renewed_event",
        (m) => ((m.time = "2018-02-27T09:00:00Z"), (m.item_loan.due_date = "2018-03-06T14:00:00Z")),
      );
      await loanUpdated(clients)(snsEvent(dueDate));
      assert.equal((await loanUpdated(clients)(snsEvent(renewed))).stale, 1);
      const [loan] = await loans();
      assert.equal(loan.due_date, "2018-03-08T14:00:00Z");
      assert.equal(loan.expiry_date, Date.parse("2018-03-08T14:00:00Z") / 1000);
    });

    it("does not bring back a closed request with an older REQUEST_CREATED", async () => {
      await putUser(FUTURE);
      await requestUpdated(clients)(snsEvent(message("request_created_event", at("2018-02-23T09:00:00Z"))));
      await requestClosed(clients)(snsEvent(message("request_closed_event", at("2018-02-23T10:00:00Z"))));
      assert.equal((await requestUpdated(clients)(snsEvent(message("request_created_event", at("2018-02-23T09:00:00Z"))))).stale, 1);
      assert.deepEqual(await requests(), []);
      assert.deepEqual((await getUser())?.request_ids, []);
    });

    it("keeps a loan that a newer event wrote when an older return arrives, and keeps it linked", async () => {
      await putUser(FUTURE);
      await loanUpdated(clients)(snsEvent(message("loan_renewed_event", at("2018-02-23T15:00:00Z"))));
      assert.equal((await loanReturned(clients)(snsEvent(message("loan_returned_event", at("2018-02-23T13:00:00Z"))))).stale, 1);
      assert.equal((await loans()).length, 1);
      assert.deepEqual((await getUser())?.loan_ids, [LOAN]);
    });
  });

  describe("event time: Alma's time, or the SNS message's Timestamp", () => {
    const undated = (change: (m: any) => void) => message("loan_renewed_event", (m) => (delete m.time, change(m)));
    /** One message as SNS delivers it to a function, received by SNS at `timestamp`. */
    const snsAt = (timestamp: string, m: string) => ({
      Records: [
        { EventSource: "aws:sns", Sns: { MessageId: "m", TopicArn: "arn:aws:sns:eu-west-2:1:t", Message: m, Timestamp: timestamp } },
      ],
    });
    /** One message as the function's queue hands it over, received by SNS at `timestamp`. */
    const queuedAt = (timestamp: string, m: string) => sqsEvent([JSON.stringify({ ...snsNotification(m), Timestamp: timestamp })]);
    const dueDate = message(
      "loan_due_date_event",
      (m) => ((m.time = "2018-02-23T11:30:00Z"), (m.item_loan.due_date = "2018-03-08T14:00:00Z")),
    );

    for (const [envelope, at] of [
      ["SNS", snsAt],
      ["SQS", queuedAt],
    ] as const) {
      it(`orders an event without time by when SNS received it (${envelope}): an older undated LOAN_RENEWED does not overwrite a newer due date, a newer one does`, async () => {
        await putUser(FUTURE);
        await loanUpdated(clients)(snsEvent(dueDate));
        const older = at(
          "2018-02-23T11:20:00.000Z",
          undated((m) => (m.item_loan.due_date = "2018-03-06T14:00:00Z")),
        );
        const result = await loanUpdated(clients)(older);
        if (envelope === "SNS") assert.deepEqual(result, { records: 1, ...none, stale: 1 });
        assert.equal((await loans())[0].due_date, "2018-03-08T14:00:00Z");
        await loanUpdated(clients)(
          at(
            "2018-02-23T11:40:00.000Z",
            undated((m) => (m.item_loan.due_date = "2018-03-10T14:00:00Z")),
          ),
        );
        const [loan] = await loans();
        assert.deepEqual([loan.due_date, loan[EVENT_TIME_ATTRIBUTE]], ["2018-03-10T14:00:00Z", Date.parse("2018-02-23T11:40:00Z")]);
      });
    }

    it("orders an event whose time it cannot read by the Timestamp, and logs the field", async () => {
      await putUser(FUTURE);
      const { logs } = await captureLogs("WARN", () =>
        loanUpdated(clients)(
          snsAt(
            "2018-02-23T11:40:00.000Z",
            message("loan_created_event", (m) => (m.time = "yesterday")),
          ),
        ),
      );
      assert.equal((await loans())[0][EVENT_TIME_ATTRIBUTE], Date.parse("2018-02-23T11:40:00Z"));
      assert.deepEqual(logs[0].fields, [
        { field: "time", note: '"yesterday" is not an ISO 8601 time: ordered by the SNS message\'s Timestamp' },
      ]);
    });

    it("orders an event with neither (an SNS event made by hand) by when it is handled", async () => {
      await putUser(FUTURE);
      await loanUpdated(clients)(snsEvent(undated(() => undefined)));
      assert.equal((await loans())[0][EVENT_TIME_ATTRIBUTE], NOW_MS);
    });
  });

  describe("tombstones, and events older than a tombstone lives", () => {
    const DAY_MS = 86_400_000;
    const dated = (fixture: string, time: string) => message(fixture, at(time));
    /** DynamoDB's TTL, which dynalite lacks: deletes the tombstones whose expires_at has passed. */
    const expireTombstones = async () => {
      for (const t of await dynamo.scan(clients.tables.tombstones)) {
        if (t.expires_at < clients.now() / 1000)
          await dynamo.documents.send(new DeleteCommand({ TableName: clients.tables.tombstones, Key: { id: t.id } }));
      }
    };

    it("lives longer than a message can wait: 14 days in its queue, 14 more after a redrive, and a week's margin for a replay by hand", () => {
      assert.equal(CACHE_QUEUE_RETENTION_SECONDS, 14 * 86_400);
      assert.equal(DEAD_LETTER_RETENTION_SECONDS, 14 * 86_400);
      assert.equal(TOMBSTONE_TTL_SECONDS, CACHE_QUEUE_RETENTION_SECONDS + DEAD_LETTER_RETENTION_SECONDS + 7 * 86_400);
    });

    it("never lets a replayed or late-redriven creation bring a returned loan back, at any age", async () => {
      await putUser(FUTURE);
      await loanUpdated(clients)(snsEvent(dated("loan_created_event", "2018-02-23T11:00:00Z")));
      await loanReturned(clients)(snsEvent(dated("loan_returned_event", "2018-02-23T11:30:00Z")));
      const [tombstone] = await dynamo.scan(clients.tables.tombstones);
      assert.equal(tombstone.expires_at, NOW_MS / 1000 + TOMBSTONE_TTL_SECONDS);
      // 15 days on, a 14-day tombstone would have gone. Within 35 days of the event the tombstone refuses it, after that its age does.
      for (const days of [0, 15, 34, 35, 36, 60]) {
        clients.now = () => NOW_MS + days * DAY_MS;
        await expireTombstones();
        const { result, logs } = await captureLogs("WARN", () =>
          loanUpdated(clients)(snsEvent(dated("loan_created_event", "2018-02-23T11:00:00Z"))),
        );
        assert.deepEqual(result, { records: 1, ...none, stale: 1 }, `${days} days on`);
        assert.deepEqual(await loans(), [], `${days} days on`);
        assert.deepEqual((await getUser())?.loan_ids, [], `${days} days on`);
        assert.match(
          logs[0].reason,
          days < 35
            ? /a return or close at least as new removed the item/
            : /the event is \d+\.\d days old, older than a tombstone lives \(35 days\)/,
        );
      }
    });

    it("refuses an event older than a tombstone lives as stale, writes nothing, and logs it with its reason and the message", async () => {
      await putUser(FUTURE, { loan_ids: [LOAN] });
      await dynamo.documents.send(new PutCommand({ TableName: clients.tables.loans, Item: { loan_id: LOAN, user_id: USER } }));
      const old = new Date(NOW_MS - 36 * DAY_MS).toISOString();
      const event = queuedSnsEvent([dated("loan_returned_event", old)]);
      const { result, logs } = await captureLogs("INFO", () => loanReturned(clients)(event));
      assert.deepEqual(result, { batchItemFailures: [] }, "a stale event is not retried");
      assert.deepEqual(await dynamo.scan(clients.tables.tombstones), []);
      assert.equal((await loans()).length, 1);
      assert.deepEqual(dynamoRequests, []);
      assert.deepEqual(
        logs.map((l) => [l.level, l.message, l.messageId, l.loan_id, l.eventTime, l.reason]),
        [
          [
            "WARN",
            "stale event: item and list left as they are",
            event.Records[0].messageId,
            LOAN,
            old,
            "the event is 36.0 days old, older than a tombstone lives (35 days)",
          ],
          ["INFO", "batch applied", undefined, undefined, undefined, undefined],
        ],
      );
      assert.deepEqual(logs[1], { ...logs[1], records: 1, stale: 1, failed: 0 }, "counted");
      const counted = await loanUpdated(clients)(
        snsEvent(dated("loan_created_event", old), dated("loan_created_event", new Date(NOW_MS - DAY_MS).toISOString())),
      );
      assert.deepEqual(counted, { records: 2, ...none, stale: 1, unchanged: 1 });
    });
  });

  describe("simultaneous returns on one user: every removal converges within the invocation's time", () => {
    for (const returns of [30, 100]) {
      for (const mode of ["batches", "singles"] as const) {
        it(`${returns} returns, ${mode === "batches" ? "in batches of 10 by 5 concurrent invocations (the event source mapping's defaults)" : "as single-record invocations all at once (the worst case)"}: 0 failed invocations, 0 dangling ids`, async function () {
          this.timeout(60_000);
          const result = await simultaneousReturns(dynamo, sqs, returns, mode);
          console.log(
            `      contention: ${returns} returns (${mode}): ${result.invocations} invocations, ${result.failedInvocations} failed, ${result.dangling.length} dangling, ${(result.dynamoRequests / returns).toFixed(1)} DynamoDB requests per event, ${result.seconds.toFixed(1)} s`,
          );
          assert.equal(result.failedInvocations, 0);
          assert.deepEqual(result.dangling, []);
          assert.deepEqual(result.loanIds, ["kept-first", "kept-middle", "kept-last"]);
        });
      }
    }
  });

  describe("acceptance: the expectations of LAG-sns-update-cache's handler tests", () => {
    // Its tests stub Date.now to 0 and create users without expiry_date, which then defaults to now + 2 hours.
    const atEpoch = () => (clients.now = () => 0);
    const putUserAtEpoch = (lists: Record<string, string[]>) =>
      dynamo.documents.send(new PutCommand({ TableName: clients.tables.users, Item: { primary_id: "u-1", ...lists, expiry_date: 7200 } }));
    const pickUser = async (list: string) => {
      const user = (await dynamo.documents.send(new GetCommand({ TableName: clients.tables.users, Key: { primary_id: "u-1" } }))).Item!;
      return { primary_id: user.primary_id, [list]: user[list], expiry_date: user.expiry_date };
    };
    const loanMessage = (loan: Record<string, unknown>) => JSON.stringify({ item_loan: loan });
    const requestMessage = (request: Record<string, unknown>) => JSON.stringify({ user_request: request });

    it("loan-updated: rejects an event it cannot parse", async () => {
      await assert.rejects(loanUpdated(clients)({}), InvalidEventError);
    });

    it("loan-updated: creates the loan record; due_date '1970-01-01T00:00:01' gives expiry_date 1", async () => {
      await loanUpdated(clients)(snsEvent(loanMessage({ user_id: "u-1", loan_id: "l-1", title: "T", due_date: "1970-01-01T00:00:01" })));
      const item = (await dynamo.documents.send(new GetCommand({ TableName: clients.tables.loans, Key: { loan_id: "l-1" } }))).Item!;
      assert.deepEqual(withoutEventTime(item), {
        user_id: "u-1",
        loan_id: "l-1",
        title: "T",
        due_date: "1970-01-01T00:00:01",
        expiry_date: 1,
      });
    });

    it("loan-updated: adds the loan to an existing user, read through the DocumentClient as [id]", async () => {
      atEpoch();
      await putUserAtEpoch({ loan_ids: [], request_ids: [] });
      await loanUpdated(clients)(snsEvent(loanMessage({ user_id: "u-1", loan_id: "l-1" })));
      assert.deepEqual(await pickUser("loan_ids"), { primary_id: "u-1", loan_ids: ["l-1"], expiry_date: 7200 });
    });

    it("loan-updated: overwrites a loan record, dropping what the new one does not carry", async () => {
      await dynamo.documents.send(
        new PutCommand({
          TableName: clients.tables.loans,
          Item: { loan_id: "l-1", user_id: "u-1", title: "old title", author: "old author" },
        }),
      );
      await loanUpdated(clients)(snsEvent(loanMessage({ user_id: "u-1", loan_id: "l-1", title: "T", due_date: "1970-01-01T00:00:01" })));
      assert.deepEqual((await loans()).map(withoutEventTime), [
        { user_id: "u-1", loan_id: "l-1", title: "T", due_date: "1970-01-01T00:00:01", expiry_date: 1 },
      ]);
    });

    it("loan-updated and loan-returned: send the user id to SQS when the user does not exist", async () => {
      await loanUpdated(clients)(snsEvent(loanMessage({ user_id: "u-1", loan_id: "l-1" })));
      await loanReturned(clients)(snsEvent(loanMessage({ user_id: "u-1", loan_id: "l-1" })));
      assert.deepEqual(
        sqs.messages.map((m) => m.body),
        ["u-1", "u-1"],
      );
    });

    it("loan-updated and loan-returned: refuse a loan without loan_id, naming it", async () => {
      for (const handler of [loanUpdated, loanReturned]) {
        await assert.rejects(handler(clients)(snsEvent(loanMessage({ user_id: "u-1" }))), /item_loan\.loan_id/);
      }
    });

    it("loan-returned: deletes an existing loan record and removes it from the user", async () => {
      atEpoch();
      await putUserAtEpoch({ loan_ids: ["l-1"], request_ids: [] });
      await dynamo.documents.send(new PutCommand({ TableName: clients.tables.loans, Item: { loan_id: "l-1", user_id: "u-1" } }));
      await loanReturned(clients)(snsEvent(loanMessage({ user_id: "u-1", loan_id: "l-1" })));
      assert.deepEqual(await loans(), []);
      assert.deepEqual(await pickUser("loan_ids"), { primary_id: "u-1", loan_ids: [], expiry_date: 7200 });
    });

    it("request-updated: creates and overwrites the request record, and adds it to the user", async () => {
      atEpoch();
      await putUserAtEpoch({ request_ids: [], loan_ids: [] });
      await dynamo.documents.send(
        new PutCommand({ TableName: clients.tables.requests, Item: { request_id: "r-1", title: "old", author: "old" } }),
      );
      await requestUpdated(clients)(snsEvent(requestMessage({ user_primary_id: "u-1", request_id: "r-1", title: "T" })));
      const [request] = await requests();
      assert.deepEqual(
        { user_primary_id: request.user_primary_id, request_id: request.request_id, title: request.title },
        { user_primary_id: "u-1", request_id: "r-1", title: "T" },
      );
      assert.equal(request.author, undefined);
      assert.deepEqual(await pickUser("request_ids"), { primary_id: "u-1", request_ids: ["r-1"], expiry_date: 7200 });
    });

    it("request-updated and request-closed: send the user id to SQS when the user does not exist", async () => {
      await requestUpdated(clients)(snsEvent(requestMessage({ user_primary_id: "u-1", request_id: "r-1", due_date: "x" })));
      await requestClosed(clients)(snsEvent(requestMessage({ user_primary_id: "u-1", request_id: "r-1" })));
      assert.deepEqual(
        sqs.messages.map((m) => m.body),
        ["u-1", "u-1"],
      );
    });

    it("request-closed: deletes the record, dropping attributes outside the schema, and removes it from the user", async () => {
      atEpoch();
      await putUserAtEpoch({ request_ids: ["r-1"] });
      await requestUpdated(clients)(
        snsEvent(requestMessage({ user_id: "u-1", user_primary_id: "u-1", request_id: "r-1", title: "T", due_date: "d" })),
      );
      assert.deepEqual(Object.keys(withoutEventTime((await requests())[0])).sort(), [
        "record_expiry_date",
        "request_id",
        "title",
        "user_primary_id",
      ]);
      await requestClosed(clients)(snsEvent(requestMessage({ user_primary_id: "u-1", request_id: "r-1" })));
      assert.deepEqual(await requests(), []);
      assert.deepEqual(await pickUser("request_ids"), { primary_id: "u-1", request_ids: [], expiry_date: 7200 });
    });

    it("request-updated and request-closed: refuse a request without request_id, naming it", async () => {
      for (const handler of [requestUpdated, requestClosed]) {
        await assert.rejects(handler(clients)(snsEvent(requestMessage({ user_primary_id: "u-1" }))), /user_request\.request_id/);
      }
    });
  });

  describe("real fixtures", () => {
    it("handles every loan fixture in turn, and the return removes the loan", async () => {
      await putUser(FUTURE, { loan_ids: ["kept"] });
      for (const fixture of ["loan_created_event", "loan_renewed_event", "loan_due_date_event"]) {
        await loanUpdated(clients)(snsEvent(message(fixture)));
      }
      assert.deepEqual((await getUser())?.loan_ids, ["kept", LOAN]);
      assert.deepEqual(await loanReturned(clients)(snsEvent(message("loan_returned_event"))), { records: 1, ...none, unlinked: 1 });
      assert.deepEqual(await loans(), []);
      assert.deepEqual((await getUser())?.loan_ids, ["kept"]);
      assert.deepEqual(
        await loanReturned(clients)(snsEvent(message("loan_returned_event"))),
        { records: 1, ...none, unchanged: 1 },
        "a duplicate return",
      );
    });

    it("handles the request fixtures, with the user_primary_id that real deliveries carry", async () => {
      await putUser(FUTURE, { request_ids: ["kept"] });
      for (const fixture of ["request_created_event", "request_placed_on_shelf_event"])
        await requestUpdated(clients)(snsEvent(message(fixture)));
      assert.deepEqual((await getUser())?.request_ids, ["kept", REQUEST]);
      await requestClosed(clients)(snsEvent(message("request_closed_event")));
      assert.deepEqual(await requests(), []);
      assert.deepEqual((await getUser())?.request_ids, ["kept"]);
      assert.equal((await requestClosed(clients)(snsEvent(message("request_canceled_event")))).unchanged, 1);
    });

    it("stores the request fixtures as captured, without user_primary_id, as the original did: the request without a user link", async () => {
      await putUser(FUTURE, { request_ids: ["kept"] });
      const { result: outcomes, logs } = await captureLogs("WARN", async () => [
        await requestUpdated(clients)(snsEvent(body("request_created_event"))),
        await requestUpdated(clients)(snsEvent(body("request_placed_on_shelf_event"))),
      ]);
      assert.deepEqual(outcomes, [
        { records: 1, ...none, unlinkedRecord: 1 },
        { records: 1, ...none, unlinkedRecord: 1 },
      ]);
      const [request] = await requests();
      assert.deepEqual(readAsDynamoose(REQUEST_ATTRIBUTES, (await rawItem(clients.tables.requests, { request_id: { S: REQUEST } }))!), {
        request_id: REQUEST,
        request_type: "HOLD",
        request_status: "NOT_STARTED",
        pickup_location: "Burns",
        pickup_location_type: "LIBRARY",
        pickup_location_library: "BURNS",
        material_type: { value: "BK", desc: "Book" },
        place_in_queue: "1",
        request_date: "2013-11-12Z",
        title: "Test title",
        record_expiry_date: NOW_MS / 1000 + REQUEST_TTL_SECONDS,
      });
      assert.equal(request.user_primary_id, undefined);
      assert.deepEqual((await getUser())?.request_ids, ["kept"], "no user is touched");
      assert.equal(sqs.messages.length, 0, "and none is queued");
      assert.deepEqual(
        logs.map((l) => [l.message, l.request_id, l.fields]),
        [0, 1].map(() => [
          "fields not stored as Alma sent them",
          REQUEST,
          [{ field: "user_request.user_primary_id", note: "is missing: stored without a user link" }],
        ]),
      );
      for (const fixture of ["request_closed_event", "request_canceled_event"]) {
        assert.deepEqual(await requestClosed(clients)(snsEvent(body(fixture))), { records: 1, ...none, unlinkedRecord: 1 });
      }
      assert.deepEqual(await requests(), []);
      assert.deepEqual((await getUser())?.request_ids, ["kept"]);
    });

    it("stores a loan without user_id, and removes it on its return, touching no user", async () => {
      await putUser(FUTURE, { loan_ids: ["kept"] });
      const unowned = (fixture: string) => message(fixture, (m) => delete m.item_loan.user_id);
      assert.deepEqual(await loanUpdated(clients)(snsEvent(unowned("loan_created_event"))), { records: 1, ...none, unlinkedRecord: 1 });
      assert.equal((await loans())[0].user_id, undefined);
      assert.equal((await loans())[0].title, "Journey");
      assert.deepEqual(await loanReturned(clients)(snsEvent(unowned("loan_returned_event"))), { records: 1, ...none, unlinkedRecord: 1 });
      assert.deepEqual(await loans(), []);
      assert.deepEqual((await getUser())?.loan_ids, ["kept"]);
      assert.equal(sqs.messages.length, 0);
    });
  });

  describe("fields the original stored as dynamoose coerced them, or could not store: stored, or left out and logged", () => {
    const loanWith = (change: (loan: any) => void) => message("loan_created_event", (m) => change(m.item_loan));
    const storedLoan = async () => readAsDynamoose(LOAN_ATTRIBUTES, (await rawItem(clients.tables.loans, { loan_id: { S: LOAN } }))!);

    it("stores scalars in String attributes as their text, as dynamoose's toString() did, and user and loan ids given as numbers", async () => {
      await putUser(FUTURE);
      await dynamo.documents.send(
        new PutCommand({ TableName: clients.tables.users, Item: { primary_id: "12345", loan_ids: [], expiry_date: FUTURE } }),
      );
      const { result, logs } = await captureLogs("WARN", () =>
        loanUpdated(clients)(
          snsEvent(
            body("loan_created_event")
              .replace('"title":"Journey"', '"title":1984')
              .replace('"mms_id":"9919045950001221"', '"mms_id":1e400')
              .replace('"user_id":"LBAAJH"', '"user_id":12345')
              .replace('"loan_id":"18263808770001221"', '"loan_id":18263808770001220')
              .replace('"description":"book"', '"description":true'),
          ),
        ),
      );
      assert.deepEqual(result, { records: 1, ...none, linked: 1 });
      assert.deepEqual(logs, []);
      const raw = (await rawItem(clients.tables.loans, { loan_id: { S: "18263808770001220" } }))!;
      assert.deepEqual(
        [raw.title, raw.mms_id, raw.user_id, raw.description],
        [{ S: "1984" }, { S: "Infinity" }, { S: "12345" }, { S: "true" }],
      );
      const user = (await dynamo.documents.send(new GetCommand({ TableName: clients.tables.users, Key: { primary_id: "12345" } }))).Item;
      assert.deepEqual(user?.loan_ids, ["18263808770001220"]);
    });

    it('leaves out a title that is an object or a list (dynamoose wrote "[object Object]"), a renewable that is not a boolean (its save failed), and logs each field', async () => {
      await putUser(FUTURE);
      const deep = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;
      const { result, logs } = await captureLogs("WARN", () =>
        loanUpdated(clients)(
          snsEvent(
            loanWith((l) => ((l.title = { nested: true }), (l.author = ["Trip", "A"]), (l.renewable = "yes"))).replace(
              '"call_number":"owncopy"',
              `"call_number":${deep}`,
            ),
          ),
        ),
      );
      assert.deepEqual(result, { records: 1, ...none, linked: 1 });
      const loan = await storedLoan();
      for (const field of ["title", "author", "renewable", "call_number"]) assert.equal(loan[field], undefined, field);
      assert.equal(loan.item_barcode, "12345", "the rest is stored");
      assert.deepEqual(logs[0].fields, [
        { field: "item_loan.renewable", note: "is a string, not a boolean: left out" },
        { field: "item_loan.call_number", note: "is a list, not text, a number or a boolean: left out" },
        { field: "item_loan.title", note: "is an object, not text, a number or a boolean: left out" },
        { field: "item_loan.author", note: "is a list, not text, a number or a boolean: left out" },
      ]);
      assert.equal(logs[0].loan_id, LOAN);
    });

    it("leaves out a request's value/desc map that is not an object, and a part of it that is", async () => {
      await putUser(FUTURE);
      const { logs } = await captureLogs("WARN", () =>
        requestUpdated(clients)(
          snsEvent(
            message(
              "request_created_event",
              (m) => ((m.user_request.material_type = "BK"), (m.user_request.request_sub_type = { value: ["x"], desc: "Sub" })),
            ),
          ),
        ),
      );
      const raw = (await rawItem(clients.tables.requests, { request_id: { S: REQUEST } }))!;
      assert.equal(raw.material_type, undefined);
      assert.deepEqual(raw.request_sub_type, { M: { desc: { S: "Sub" } } });
      assert.deepEqual(logs[0].fields, [
        { field: "user_request.request_sub_type.value", note: "is a list, not text, a number or a boolean: left out" },
        { field: "user_request.material_type", note: "is a string, not an object of value and desc: left out" },
      ]);
    });

    // moment(due, 'YYYY-MM-DDTHH:mm:ssZ').unix() on Lambda (UTC), moment 2.22.1, beside ours.
    const dueDates: [string, number, string][] = [
      ["2018-02-23T14:10:06Z", Date.parse("2018-02-23T14:10:06Z") / 1000, "as moment"],
      ["2018-02-23T14:10:06.546Z", Date.parse("2018-02-23T14:10:06Z") / 1000, "as moment: fractions dropped"],
      ["2018-02-23T14:10:06", Date.parse("2018-02-23T14:10:06Z") / 1000, "as moment: no zone is UTC"],
      ["2018-02-23T14:10:06+01:00", Date.parse("2018-02-23T13:10:06Z") / 1000, "as moment"],
      ["2018-02-23T14:10:06+0100", Date.parse("2018-02-23T13:10:06Z") / 1000, "as moment"],
      ["2018-02-23 14:10:06", Date.parse("2018-02-23T14:10:06Z") / 1000, "as moment"],
      ["2018-02-23T14:10Z", Date.parse("2018-02-23T14:10:00Z") / 1000, "as moment"],
      ["2018-02-23T24:00:00Z", Date.parse("2018-02-24T00:00:00Z") / 1000, "as moment"],
      ["2018-02-23", Date.parse("2018-02-23T00:00:00Z") / 1000, "as moment"],
      ["2018-02-23Z", Date.parse("2018-02-23T00:00:00Z") / 1000, "as moment"],
      ["23/02/2018", Date.parse("2018-02-23T00:00:00Z") / 1000, "moment read 2023-02-20T18:00:00Z"],
      ["23/02/2018 14:10", Date.parse("2018-02-23T14:10:00Z") / 1000, "moment read 2023-02-20T18:10:00Z"],
    ];
    for (const [due, expiry, moment] of dueDates) {
      it(`reads the due date ${due} (${moment})`, async () => {
        await putUser(FUTURE);
        const { logs } = await captureLogs("WARN", () => loanUpdated(clients)(snsEvent(loanWith((l) => (l.due_date = due)))));
        assert.deepEqual(await storedLoan().then((l) => [l.due_date, l.expiry_date]), [due, expiry]);
        assert.deepEqual(logs, []);
      });
    }

    // Alma sends none of these. moment refused the first two (its NaN then failed the save) and read the others as 2018-01-01 and 2018-02-23.
    it("stores a due date in no form Alma sends as it came, with expiry_date 0, and logs it", async () => {
      await putUser(FUTURE);
      for (const due of ["next tuesday", "2018-02-30", "2018", 20180223]) {
        const { result, logs } = await captureLogs("WARN", () => loanUpdated(clients)(snsEvent(loanWith((l) => (l.due_date = due)))));
        assert.equal(result.records - result.stale, 1, String(due));
        assert.deepEqual(await storedLoan().then((l) => [l.due_date, l.expiry_date]), [String(due), 0]);
        assert.deepEqual(logs[0].fields, [
          { field: "item_loan.due_date", note: `${JSON.stringify(due)} is not a date we read: expiry_date 0` },
        ]);
      }
    });
  });

  describe("from the function's queue: SQS batches of SNS notifications", () => {
    const ids = (event: { Records: { messageId: string }[] }, positions: number[]) =>
      positions.map((i) => ({ itemIdentifier: event.Records[i].messageId }));

    it("applies every record in order with the same requests as one SNS event each, and answers with no failure", async () => {
      await putUser(FUTURE);
      const second = message("loan_created_event", (m) => (m.item_loan.loan_id = "second-loan"));
      const event = queuedSnsEvent([message("loan_created_event"), second, message("loan_created_event")]);
      assert.deepEqual(await loanUpdated(clients)(event), { batchItemFailures: [] });
      assert.deepEqual((await getUser())?.loan_ids, [LOAN, "second-loan"]);
      // 3 each, and one more read for the redelivered third.
      assert.deepEqual(dynamoRequests, [
        ...["PutItem", "GetItem", "UpdateItem"],
        ...["PutItem", "GetItem", "UpdateItem"],
        ...["PutItem", "GetItem", "UpdateItem", "GetItem"],
      ]);
    });

    it("reports only the records that fail, by message id, and applies the others", async () => {
      await putUser(FUTURE);
      const loan = (id: string) => message("loan_created_event", (m) => (m.item_loan.loan_id = id));
      const bodies = [
        JSON.stringify(snsNotification(loan("a"))),
        JSON.stringify(snsNotification(message("loan_created_event", (m) => delete m.item_loan.loan_id))),
        JSON.stringify(snsNotification(loan("b"))),
        JSON.stringify(snsNotification("not json")),
        loan("raw"), // raw message delivery: not an SNS notification
        "{",
        JSON.stringify(snsNotification(message("request_created_event"))), // a request on a loan function's queue
        JSON.stringify(snsNotification(loan("c"))),
      ];
      const event = sqsEvent(bodies);
      assert.deepEqual(await loanUpdated(clients)(event), { batchItemFailures: ids(event, [1, 3, 4, 5, 6]) });
      assert.deepEqual((await getUser())?.loan_ids, ["a", "b", "c"]);
      assert.deepEqual((await loans()).map((l) => l.loan_id).sort(), ["a", "b", "c"]);
    });

    it("throws when every record fails, naming each record's bad field, so that the errors alarm sees it; nothing is written", async () => {
      const event = queuedSnsEvent([message("loan_created_event", (m) => delete m.item_loan.loan_id), "not json"]);
      await assert.rejects(
        loanUpdated(clients)(event),
        (err: unknown) =>
          err instanceof BatchFailedError &&
          err.failures.map((f) => f.messageId).join() === event.Records.map((r) => r.messageId).join() &&
          /Records\[0\]\.body\.Message\.item_loan\.loan_id/.test(err.message) &&
          /Records\[1\]\.body\.Message: is not JSON/.test(err.message),
      );
      assert.deepEqual(dynamoRequests, []);
    });

    it("names what is wrong with a record that is not an SNS notification", async () => {
      const notification = (change: (n: any) => void) => {
        const n: any = snsNotification(message("loan_created_event"));
        change(n);
        return JSON.stringify(n);
      };
      const cases: [string, RegExp][] = [
        [notification((n) => (n.Type = "SubscriptionConfirmation")), /invalid SNS notification: Records\[0\]\.body\.Type/],
        [notification((n) => delete n.Message), /Records\[0\]\.body\.Message/],
        [
          notification((n) => (n.Message = JSON.stringify({ ...JSON.parse(n.Message), padding: "x".repeat(300 * 1024) }))),
          /Records\[0\]\.body\.Message: is \d+ bytes; at most 262144/,
        ],
        [message("loan_created_event"), /Records\[0\]\.body\.Type/],
      ];
      for (const [body, expected] of cases) await assert.rejects(loanUpdated(clients)(sqsEvent([body])), expected);
      assert.deepEqual(dynamoRequests, []);
    });

    it("fails the whole batch only when its envelope is invalid, naming the field", async () => {
      await assert.rejects(
        loanUpdated(clients)({ Records: [{ eventSource: "aws:sqs", body: "{}" }] }),
        /invalid SQS event: Records\[0\]\.messageId/,
      );
      assert.deepEqual(dynamoRequests, []);
    });

    it("accepts a batch larger than one message's 256 KiB, up to Lambda's payload", async () => {
      await putUser(FUTURE);
      const big = (id: string) => message("loan_created_event", (m) => ((m.item_loan.loan_id = id), (m.padding = "x".repeat(200 * 1024))));
      assert.deepEqual(await loanUpdated(clients)(queuedSnsEvent([big("a"), big("b")])), { batchItemFailures: [] });
      assert.deepEqual((await getUser())?.loan_ids, ["a", "b"]);
    });

    it("applies a redelivered batch without changing anything", async () => {
      await putUser(FUTURE, { request_ids: ["kept"] });
      const event = queuedSnsEvent([message("request_created_event"), message("request_placed_on_shelf_event")]);
      await requestUpdated(clients)(event);
      const once = { user: await getUser(), requests: await requests() };
      assert.deepEqual(await requestUpdated(clients)(event), { batchItemFailures: [] });
      assert.deepEqual({ user: await getUser(), requests: await requests() }, once);
      assert.deepEqual(once.user?.request_ids, ["kept", REQUEST]);
      await requestClosed(clients)(queuedSnsEvent([message("request_closed_event"), message("request_canceled_event")]));
      assert.deepEqual(await requests(), []);
      assert.deepEqual((await getUser())?.request_ids, ["kept"]);
    });
  });

  describe("malformed messages", () => {
    it("names the record and the field, and writes nothing when any record is bad", async () => {
      const cases: [unknown, RegExp][] = [
        [snsEvent(message("loan_created_event"), "not json"), /Records\[1\]\.Sns\.Message: is not JSON/],
        [
          snsEvent(
            message("loan_created_event"),
            message("loan_created_event", (m) => delete m.item_loan.loan_id),
          ),
          /Records\[1\]\.Sns\.Message\.item_loan\.loan_id/,
        ],
        [
          snsEvent(message("loan_created_event", (m) => (m.item_loan.loan_id = ""))),
          /Records\[0\]\.Sns\.Message\.item_loan\.loan_id: must not be empty/,
        ],
        [
          snsEvent(message("loan_created_event", (m) => (m.item_loan.loan_id = null))),
          /Records\[0\]\.Sns\.Message\.item_loan\.loan_id: is required/,
        ],
        [snsEvent(message("loan_created_event", (m) => (m.item_loan.loan_id = { id: 1 }))), /item_loan\.loan_id: must be text or a number/],
        [
          snsEvent(message("loan_created_event", (m) => (m.item_loan.loan_id = "9".repeat(2100)))),
          /item_loan\.loan_id: must be at most 2040 bytes/,
        ],
        [
          snsEvent(message("loan_created_event", (m) => (m.item_loan.loan_id = "é".repeat(1021)))),
          /item_loan\.loan_id: must be at most 2040 bytes/,
        ],
        [snsEvent(JSON.stringify({ user_request: {} })), /Records\[0\]\.Sns\.Message\.item_loan/],
        [{ Records: [] }, /Records: must hold at least one record/],
        [{}, /invalid SNS event: Records/],
      ];
      for (const [event, expected] of cases) await assert.rejects(loanUpdated(clients)(event), expected);
      assert.deepEqual(dynamoRequests, [], "nothing was written");
      assert.equal(sqs.messages.length, 0);
    });
  });
});
