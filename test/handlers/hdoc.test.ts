import * as assert from "node:assert/strict";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { HDOC_USERS_TABLE } from "../../components/hdoc/hdoc-backend";
import { serve, queryOf } from "../../handlers/lib/http-api";
import { encodeCursor, getUser, listUsers, type UsersApi } from "../../handlers/hdoc/users";
import { type LocalDynamo, startDynalite } from "../../tooling/local/dynamo";

describe("hdoc handlers", function () {
  this.timeout(30_000);
  let dynamo: LocalDynamo;
  let api: UsersApi;

  before(async () => {
    dynamo = await startDynalite();
    await dynamo.createTable("hdoc-users", HDOC_USERS_TABLE);
    api = { documents: dynamo.documents, table: "hdoc-users" };
    for (let i = 0; i < 30; i++) {
      await dynamo.documents.send(
        new PutCommand({ TableName: "hdoc-users", Item: { github_username: `user-${String(i).padStart(2, "0")}`, day: i, streak: 1.5, tags: ["aws"] } }),
      );
    }
  });
  after(() => dynamo.close());

  const call = (route: typeof getUser, query: Record<string, string | undefined>) =>
    serve(() => route(api, queryOf({ version: "2.0", queryStringParameters: query }))).then((r) => ({ status: r.statusCode, body: JSON.parse(r.body) }));

  describe("GET /user", () => {
    it("answers 200 with the item, numbers as JSON numbers", async () => {
      assert.deepEqual(await call(getUser, { username: "user-07" }), {
        status: 200,
        body: { github_username: "user-07", day: 7, streak: 1.5, tags: ["aws"] },
      });
    });

    it("answers 404 for an unknown user", async () => {
      assert.deepEqual(await call(getUser, { username: "nobody" }), { status: 404, body: { message: "user not found" } });
    });

    it("answers 400 naming the parameter when username is missing or empty", async () => {
      for (const query of [{}, { username: "" }, { username: "   " }]) {
        const { status, body } = await call(getUser, query);
        assert.equal(status, 400);
        assert.match(body.message, /username/);
      }
    });

    it("stores and reads unicode and injection-looking names verbatim", async () => {
      const name = "ünï'; DROP TABLE users;--<script>";
      await dynamo.documents.send(new PutCommand({ TableName: "hdoc-users", Item: { github_username: name, day: 1 } }));
      assert.deepEqual((await call(getUser, { username: name })).body, { github_username: name, day: 1 });
    });
  });

  describe("GET /users", () => {
    const list = (query: Record<string, string | undefined>, path = "/users") =>
      serve(() => listUsers(api, queryOf({ version: "2.0", rawPath: path, queryStringParameters: query }), path)).then((r) => ({
        status: r.statusCode,
        headers: r.headers,
        body: JSON.parse(r.body),
      }));

    it("answers a JSON array, as the frontend reads it, and pages through every user with the Link header's next URL", async () => {
      const seen: string[] = [];
      let next: string | undefined = "/users";
      let pages = 0;
      while (next) {
        const url: URL = new URL(next, "https://api.example");
        const { status, headers, body } = await list(Object.fromEntries(url.searchParams), url.pathname);
        assert.equal(status, 200);
        assert.ok(Array.isArray(body), "the body is the array itself");
        assert.ok(body.length <= 25);
        seen.push(...body.map((u: { github_username: string }) => u.github_username));
        next = /^<([^>]+)>; rel="next"$/.exec(headers.Link ?? "")?.[1];
        if (next) assert.equal(new URL(next, "https://api.example").searchParams.get("cursor"), headers["X-Next-Cursor"]);
        pages += 1;
      }
      assert.ok(pages >= 2);
      assert.equal(new Set(seen).size, seen.length);
      assert.ok(seen.length >= 30);
    });

    it("honours limit, keeps it in the next page's URL, and sends no paging header on the last page", async () => {
      const first = await list({ limit: "10" });
      assert.equal(first.body.length, 10);
      assert.match(first.headers.Link, /^<\/users\?cursor=[A-Za-z0-9_-]+&limit=10>; rel="next"$/);
      const all = await list({ limit: "100" });
      assert.equal(all.headers.Link, undefined);
      assert.equal(all.headers["X-Next-Cursor"], undefined);
    });

    it("answers [user] or [] for ?username=, as the backend's main branch answered that user", async () => {
      assert.deepEqual((await list({ username: "user-07" })).body, [{ github_username: "user-07", day: 7, streak: 1.5, tags: ["aws"] }]);
      assert.deepEqual((await list({ username: "nobody" })).body, []);
    });

    it("answers 400 naming limit for anything but an integer from 1 to 100", async () => {
      for (const limit of ["0", "101", "-1", "2.5", "ten", "1e2", " 5"]) {
        const { status, body } = await list({ limit });
        assert.equal(status, 400, limit);
        assert.match(body.message, /limit must be an integer from 1 to 100/);
      }
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
        const { status, body } = await list({ cursor });
        assert.equal(status, 400, cursor);
        assert.equal(body.message, "query parameter cursor is invalid");
      }
      assert.equal((await list({ cursor: valid })).status, 200);
    });

    it("answers 400 naming the field for a username, or a cursor's key, over DynamoDB's 2048 bytes: a client error, not a 500", async () => {
      const long = "é".repeat(1025);
      for (const [route, query, field] of [
        [getUser, { username: long }, "username"],
        [listUsers, { username: long }, "username"],
        [listUsers, { cursor: encodeCursor({ github_username: long })! }, "cursor"],
      ] as const) {
        const { status, body } = await call(route, query);
        assert.equal(status, 400);
        assert.match(body.message, new RegExp(`query parameter ${field} .*longer than 2048 bytes`));
      }
    });
  });

  it("answers 500 with a generic message when the table fails, keeping the details out of the answer", async () => {
    const broken = { documents: dynamo.documents, table: "no-such-table" };
    const response = await serve(() => getUser(broken, { username: "x" }));
    assert.deepEqual([response.statusCode, JSON.parse(response.body)], [500, { message: "internal error" }]);
  });
});
