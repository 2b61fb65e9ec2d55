import * as assert from "node:assert/strict";
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { HDOC_USERS_TABLE } from "../../apps/hdoc/hdoc-backend";
import { HDOC_PRIVATE_ATTRIBUTES } from "../../apps/hdoc/settings";
import { HDOC_ENV } from "../../handlers/lib/env-names";
import { pathOf, queryOf, serve } from "../../handlers/lib/http-api";
import { decimalText, stringText } from "../../handlers/hdoc/simplejson";
import {
  encodeCursor,
  getUser,
  LAMBDA_RESPONSE_LIMIT_BYTES,
  listUsers,
  type PublicAttributes,
  publicAttributesFromEnv,
  USER_NOT_FOUND,
  USERNAME_MISSING,
  type UsersApi,
  usersApi,
} from "../../handlers/hdoc/users";
import { localClientConfig } from "../../tooling/local/aws";
import { type LocalDynamo, startDynalite } from "../../tooling/local/dynamo";

const DEFAULT_ATTRIBUTES: PublicAttributes = { except: [...HDOC_PRIVATE_ATTRIBUTES] };

describe("hdoc handlers", function () {
  this.timeout(60_000);
  let dynamo: LocalDynamo;
  const apiOn = (table: string, attributes: PublicAttributes = DEFAULT_ATTRIBUTES, maxResponseBytes?: number): UsersApi =>
    usersApi(localClientConfig(dynamo.endpoint), table, attributes, maxResponseBytes);

  before(async () => {
    dynamo = await startDynalite();
  });
  after(() => dynamo.close());

  const newTable = async (name: string, items: Record<string, unknown>[] = []) => {
    await dynamo.createTable(name, HDOC_USERS_TABLE);
    for (const Item of items) await dynamo.documents.send(new PutCommand({ TableName: name, Item }));
  };

  type Route = typeof listUsers;
  /** The route's answer to an API Gateway event (payload 2.0, or a REST API's 1.0). */
  const answer = (api: UsersApi, route: Route, event: Record<string, unknown>) =>
    serve(() => route(api, queryOf(event), pathOf(event, "/users")));
  const query = (q: Record<string, string> | null | undefined) =>
    q === undefined ? { version: "2.0" } : { version: "2.0", queryStringParameters: q };

  // ---------------------------------------------------------------------------------------------
  // 100DaysOfCloudBackend's sam/api/tests, on both branches, with their tables and events.
  describe("the originals' pytest expectations", () => {
    before(async () => {
      await newTable("Users", [{ github_username: "johndoe" }]);
      await newTable("UsersFour", [
        { github_username: "johndoe" },
        { github_username: "joanna" },
        { github_username: "becky" },
        { github_username: "rahul" },
      ]);
    });

    // test_get_user_by_id.py (main and dev): status 200, body '{"github_username": "%s"}' exactly.
    for (const [branch, route, rawPath] of [
      ["main: GET /users", listUsers, "/users"],
      ["dev: GET /user", getUser, "/user"],
    ] as const) {
      it(`test_get_user_by_id (${branch}?username=): 200 and the body text '{"github_username": "johndoe"}'`, async () => {
        const response = await answer(apiOn("Users"), route, { queryStringParameters: { username: "johndoe" }, rawPath });
        assert.equal(response.statusCode, 200);
        assert.equal(response.body, '{"github_username": "johndoe"}');
      });
    }

    // test_get_users.py (dev): limit=2 answers two users; no query answers all four.
    it("test_get_users (dev: GET /users?limit=2): 200 and two users", async () => {
      const response = await answer(apiOn("UsersFour"), listUsers, { queryStringParameters: { limit: "2" } });
      assert.equal(response.statusCode, 200);
      assert.equal(JSON.parse(response.body).length, 2);
    });

    it("test_get_users (dev: GET /users without a query): 200 and all four users", async () => {
      // The test's event was {}; API Gateway sends no queryStringParameters (2.0) or null (1.0).
      for (const event of [{}, query(undefined), { queryStringParameters: null }]) {
        const response = await answer(apiOn("UsersFour"), listUsers, event);
        assert.equal(response.statusCode, 200);
        assert.equal(JSON.parse(response.body).length, 4);
      }
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe("GET /user?username=X and GET /users?username=X (get_user_by_id)", () => {
    const routes = [
      ["GET /user", getUser],
      ["GET /users", listUsers],
    ] as const;
    before(() => newTable("by-id", [{ github_username: "ada", days_completed: 42, email: "ada@example.com", cognito_sub: "0f1e-22" }]));

    for (const [name, route] of routes) {
      it(`${name}: answers the bare object, JSON written as simplejson wrote it`, async () => {
        const response = await answer(apiOn("by-id"), route, query({ username: "ada" }));
        assert.deepEqual(response, {
          statusCode: 200,
          headers: { "content-type": "application/json" },
          body: '{"github_username": "ada", "days_completed": 42}',
        });
      });

      it(`${name}: answers 404 with the original's text when the user is missing`, async () => {
        // Looked up verbatim: " ada" is another name.
        for (const username of ["nobody", " ada", "ADA", "   "]) {
          assert.deepEqual(await answer(apiOn("by-id"), route, query({ username })), {
            statusCode: 404,
            headers: { "content-type": "text/plain; charset=utf-8" },
            body: USER_NOT_FOUND,
          });
        }
        assert.equal(USER_NOT_FOUND, "ERROR: user not found!");
      });

      it(`${name}: answers 400 naming username when it is longer than a DynamoDB key can be`, async () => {
        const response = await answer(apiOn("by-id"), route, query({ username: "é".repeat(1025) }));
        assert.equal(response.statusCode, 400);
        assert.match(JSON.parse(response.body).message, /query parameter username is longer than 2048 bytes/);
      });
    }

    it("GET /user: answers 404 with the original's missing-username text when username is absent or empty", async () => {
      assert.equal(USERNAME_MISSING, "username field in the body of the request is missing");
      for (const event of [
        {},
        query(undefined),
        { queryStringParameters: null },
        query({}),
        query({ limit: "2" }),
        query({ username: "" }),
        { queryStringParameters: { username: ["a"] } },
      ]) {
        assert.deepEqual(
          await answer(apiOn("by-id"), getUser, event),
          { statusCode: 404, headers: { "content-type": "text/plain; charset=utf-8" }, body: USERNAME_MISSING },
          JSON.stringify(event),
        );
      }
    });

    it("GET /users: an empty username is get_user_by_id's missing username; no username at all is the listing", async () => {
      assert.equal((await answer(apiOn("by-id"), listUsers, query({ username: "" }))).body, USERNAME_MISSING);
      assert.equal(
        (await answer(apiOn("by-id"), listUsers, query({ username: "ada", limit: "x" }))).statusCode,
        200,
        "with username, limit is not read",
      );
      assert.equal((await answer(apiOn("by-id"), listUsers, query({}))).body, '[{"github_username": "ada", "days_completed": 42}]');
    });

    it("reads unicode and injection-looking names verbatim, escaping them as simplejson's ensure_ascii did", async () => {
      const name = "ünï'; DROP TABLE users;--<script>\"\\\n😀";
      await dynamo.documents.send(new PutCommand({ TableName: "by-id", Item: { github_username: name, day: 1 } }));
      const response = await answer(apiOn("by-id"), getUser, query({ username: name }));
      assert.equal(
        response.body,
        '{"github_username": "\\u00fcn\\u00ef\'; DROP TABLE users;--<script>\\"\\\\\\n\\ud83d\\ude00", "day": 1}',
      );
      assert.deepEqual(JSON.parse(response.body), { github_username: name, day: 1 });
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe("numbers and sets, as simplejson with use_decimal wrote them", () => {
    const EXACT = {
      github_username: { S: "exact" },
      two53plus1: { N: "9007199254740993" },
      twenty_digits: { N: "12345678901234567890" },
      fraction: { N: "0.123456789012345678901" },
      small: { N: "0.0000001" },
      negative: { N: "-1.5" },
      tags: { SS: ["aws", "azure"] },
      days: { NS: ["1", "9007199254740993"] },
      nested: {
        M: { streak: { N: "12345678901234567890" }, list: { L: [{ N: "0.123456789012345678901" }, { BOOL: true }, { NULL: true }] } },
      },
      avatar: { B: Uint8Array.from([1, 2, 255]) },
    };
    const TEXT =
      '{"github_username": "exact", "two53plus1": 9007199254740993, "twenty_digits": 12345678901234567890, "fraction": 0.123456789012345678901, ' +
      '"small": 1E-7, "negative": -1.5, "tags": ["aws", "azure"], "days": [1, 9007199254740993], ' +
      '"nested": {"streak": 12345678901234567890, "list": [0.123456789012345678901, true, null]}, "avatar": "AQL/"}';
    before(async () => {
      await newTable("exact", [{ github_username: "plain", day: 3 }]);
      await new DynamoDBClient(localClientConfig(dynamo.endpoint)).send(new PutItemCommand({ TableName: "exact", Item: EXACT }));
    });

    it("GET /user answers every digit (2^53+1, 20 digits, 21 decimals), sets and binary as lists and base64", async () => {
      assert.equal((await answer(apiOn("exact"), getUser, query({ username: "exact" }))).body, TEXT);
    });

    it("GET /users answers the whole listing with that user in it, not a 500", async () => {
      const response = await answer(apiOn("exact"), listUsers, query(undefined));
      assert.equal(response.statusCode, 200);
      assert.deepEqual(
        response.body
          .slice(1, -1)
          .split(/, (?=\{"github_username")/)
          .sort(),
        [TEXT, '{"github_username": "plain", "day": 3}'].sort(),
      );
    });

    it("writes a number as Python's str(Decimal) does", () => {
      for (const [text, python] of [
        ["100", "100"],
        ["1.5", "1.5"],
        ["0.000001", "0.000001"],
        ["0.0000001", "1E-7"],
        ["-0.0000001", "-1E-7"],
        ["0", "0"],
        ["123456.789", "123456.789"],
        ["1E+2", "1E+2"],
        ["1.50", "1.50"],
        ["0.00", "0.00"],
        ["007", "7"],
        ["1.2345e-10", "1.2345E-10"],
        ["9.9999999999999999999999999999999999999E+125", "9.9999999999999999999999999999999999999E+125"],
      ]) {
        assert.equal(decimalText(text), python, text);
      }
      assert.throws(() => decimalText("NaN"), /not a DynamoDB number/);
    });

    it("escapes strings as simplejson's ensure_ascii does", () => {
      assert.equal(stringText('a"b\\c/\u0001\u007f\t'), '"a\\"b\\\\c/\\u0001\\u007f\\t"');
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe("public attributes", () => {
    const USER = { github_username: "grace", days_completed: 100, email: "grace@example.com", cognito_sub: "abcd-1234", bio: "hi" };
    before(() => newTable("public", [USER]));
    const body = async (attributes: PublicAttributes, route: Route = getUser) =>
      JSON.parse((await answer(apiOn("public", attributes), route, query({ username: "grace" }))).body);

    it("leaves out email and cognito_sub by default, on every route", async () => {
      for (const route of [getUser, listUsers])
        assert.deepEqual(await body(DEFAULT_ATTRIBUTES, route), { github_username: "grace", days_completed: 100, bio: "hi" });
      const listing = JSON.parse((await answer(apiOn("public"), listUsers, query(undefined))).body);
      assert.deepEqual(listing, [{ github_username: "grace", days_completed: 100, bio: "hi" }]);
    });

    it("answers only the listed attributes, or all but the listed ones", async () => {
      assert.deepEqual(await body({ only: ["github_username", "bio", "not_there"] }), { github_username: "grace", bio: "hi" });
      assert.deepEqual(await body({ except: [] }), USER);
    });

    it("reads the setting from PUBLIC_ATTRIBUTES, failing with the variable's name", () => {
      assert.equal(HDOC_ENV.publicAttributes, "PUBLIC_ATTRIBUTES");
      assert.deepEqual(publicAttributesFromEnv({ PUBLIC_ATTRIBUTES: '{"only":["github_username"]}' }), { only: ["github_username"] });
      for (const env of [
        {},
        { PUBLIC_ATTRIBUTES: "email" },
        { PUBLIC_ATTRIBUTES: '{"only":["a"],"except":["b"]}' },
        { PUBLIC_ATTRIBUTES: "{}" },
      ]) {
        assert.throws(() => publicAttributesFromEnv(env), /environment variable PUBLIC_ATTRIBUTES/);
      }
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe("GET /users (get_users): the listing", () => {
    const NAMES = Array.from({ length: 30 }, (_, i) => `user-${String(i).padStart(2, "0")}`);
    before(() =>
      newTable(
        "list",
        NAMES.map((github_username, day) => ({ github_username, day, streak: 1.5, tags: ["aws"] })),
      ),
    );
    const list = async (q: Record<string, string> | undefined, api = apiOn("list"), rawPath = "/users") => {
      const response = await answer(api, listUsers, { ...query(q), rawPath });
      return { ...response, users: response.statusCode === 200 ? (JSON.parse(response.body) as { github_username: string }[]) : [] };
    };
    /** Follows the Link headers from `first`, returning every user seen and the answers. */
    const follow = async (first: string, api: UsersApi) => {
      const seen: string[] = [];
      const answers: Awaited<ReturnType<typeof list>>[] = [];
      let next: string | undefined = first;
      while (next) {
        const url: URL = new URL(next, "https://api.example");
        const response = await list(Object.fromEntries(url.searchParams), api, url.pathname);
        assert.equal(response.statusCode, 200);
        answers.push(response);
        seen.push(...response.users.map((u) => u.github_username));
        next = /^<([^>]+)>; rel="next"$/.exec(response.headers.Link ?? "")?.[1];
        if (next) assert.equal(new URL(next, "https://api.example").searchParams.get("cursor"), response.headers["X-Next-Cursor"]);
      }
      return { seen, answers };
    };

    it("answers every user in one array, with no paging headers, when they fit", async () => {
      const { statusCode, headers, users } = await list(undefined);
      assert.equal(statusCode, 200);
      assert.deepEqual(users.map((u) => u.github_username).sort(), NAMES);
      assert.deepEqual(headers, { "content-type": "application/json" });
    });

    it("answers the first limit users (Scan's Limit), with the next ones' cursor and limit in the headers", async () => {
      const first = await list({ limit: "10" });
      assert.equal(first.users.length, 10);
      assert.match(first.headers.Link, /^<\/users\?cursor=[A-Za-z0-9_-]+&limit=10>; rel="next"$/);
      const { seen } = await follow("/users?limit=7", apiOn("list"));
      assert.deepEqual([...seen].sort(), NAMES);
      assert.equal(new Set(seen).size, seen.length);
    });

    it("reads limit as Python's int() did, any positive size", async () => {
      for (const [limit, count] of [
        [" 5 ", 5],
        ["+5", 5],
        ["005", 5],
        ["1_0", 10],
        ["30", 30],
        ["2147483648", 30],
        ["99999999999999999999999", 30],
      ] as const) {
        const response = await list({ limit });
        assert.equal(response.statusCode, 200, limit);
        assert.equal(response.users.length, count, limit);
      }
    });

    it("answers 400 naming limit for what int() refused or Scan's Limit cannot be", async () => {
      for (const limit of ["", "0", "-1", "2.5", "ten", "1e2", "1__0", "_1", "1_", "0x10"]) {
        const response = await list({ limit });
        assert.equal(response.statusCode, 400, limit);
        assert.equal(JSON.parse(response.body).message, "query parameter limit must be a positive integer");
      }
    });

    it("stops before the next user would overflow the response, and gives the rest's cursor", async () => {
      const budget = 2_000;
      const { seen, answers } = await follow("/users", apiOn("list", DEFAULT_ATTRIBUTES, budget));
      assert.ok(answers.length >= 2);
      assert.deepEqual([...seen].sort(), NAMES);
      assert.equal(new Set(seen).size, seen.length);
      for (const response of answers) assert.ok(JSON.stringify(response.body).length - 2 <= budget);
      // Each answer but the last is as full as it can be: one more user would not have fitted.
      const user = JSON.stringify(JSON.stringify(answers[0].users[0])).length;
      for (const response of answers.slice(0, -1)) assert.ok(JSON.stringify(response.body).length - 2 > budget - user - 10);
    });

    it("keeps the request's path in the Link header", async () => {
      assert.match((await list({ limit: "1" }, apiOn("list"), "/prod/users")).headers.Link, /^<\/prod\/users\?cursor=/);
    });

    it("answers 400 to a tampered or invalid cursor", async () => {
      const valid = encodeCursor({ github_username: "user-05" })!;
      for (const cursor of [
        "not base64!",
        Buffer.from("not json").toString("base64url"),
        encodeCursor({ github_username: "user-05", admin: true })!,
        encodeCursor({ other_key: "x" })!,
        encodeCursor({ github_username: 5 } as never)!,
        Buffer.from("[]").toString("base64url"),
        `${valid}===`,
      ]) {
        const response = await list({ cursor });
        assert.equal(response.statusCode, 400, cursor);
        assert.equal(JSON.parse(response.body).message, "query parameter cursor is invalid");
      }
      assert.equal((await list({ cursor: valid })).statusCode, 200);
      const long = await list({ cursor: encodeCursor({ github_username: "é".repeat(1025) })! });
      assert.match(JSON.parse(long.body).message, /query parameter cursor names a key longer than 2048 bytes/);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe("GET /users past Lambda's 6 MB response limit", () => {
    // 24 users of 100,000 double quotes each: 2.4 MB in DynamoDB (three Scan pages), but each
    // quote is \" in the body and \\\" in Lambda's envelope, 4 bytes: about 9.6 MB in all.
    const USERS = Array.from({ length: 24 }, (_, i) => `big-${String(i).padStart(2, "0")}`);
    before(() =>
      newTable(
        "big",
        USERS.map((github_username) => ({ github_username, quotes: '"'.repeat(100_000) })),
      ),
    );

    it("answers as many users as Lambda can return, then the rest after the Link's cursor, each exactly once", async () => {
      const api = apiOn("big");
      const seen: string[] = [];
      let cursor: string | undefined;
      let answers = 0;
      do {
        const response = await answer(api, listUsers, query(cursor ? { cursor } : undefined));
        assert.equal(response.statusCode, 200);
        const envelope = Buffer.byteLength(
          JSON.stringify({ statusCode: response.statusCode, headers: response.headers, body: response.body, isBase64Encoded: false }),
        );
        assert.ok(envelope <= LAMBDA_RESPONSE_LIMIT_BYTES, `${envelope} bytes`);
        const users = JSON.parse(response.body) as { github_username: string; quotes: string }[];
        if (response.headers["X-Next-Cursor"])
          assert.ok(envelope > LAMBDA_RESPONSE_LIMIT_BYTES - 500_000, `a cut answer is nearly full: ${envelope} bytes`);
        assert.ok(users.every((u) => u.quotes.length === 100_000));
        seen.push(...users.map((u) => u.github_username));
        cursor = response.headers["X-Next-Cursor"];
        answers += 1;
      } while (cursor);
      assert.equal(answers, 2);
      assert.deepEqual(seen.sort(), USERS);
    });
  });

  it("answers 500 with a generic message when the table fails, keeping the details out of the answer", async () => {
    for (const route of [getUser, listUsers]) {
      const response = await answer(apiOn("no-such-table"), route, query({ username: "x" }));
      assert.deepEqual([response.statusCode, JSON.parse(response.body)], [500, { message: "internal error" }]);
    }
  });
});
