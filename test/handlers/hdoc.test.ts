import * as assert from "node:assert/strict";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { HDOC_USERS_TABLE } from "../../components/hdoc/hdoc-backend";
import { serve, queryOf } from "../../handlers/lib/http-api";
import { encodeCursor, getUser, listUsers, type UsersApi } from "../../handlers/lib/hdoc/users";
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
    it("pages through every user with an opaque cursor, 25 by default", async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const { status, body }: { status: number; body: any } = await call(listUsers, cursor ? { cursor } : {});
        assert.equal(status, 200);
        assert.ok(body.items.length <= 25);
        seen.push(...body.items.map((u: { github_username: string }) => u.github_username));
        cursor = body.nextCursor;
        pages += 1;
      } while (cursor);
      assert.ok(pages >= 2);
      assert.equal(new Set(seen).size, seen.length);
      assert.ok(seen.length >= 30);
    });

    it("honours limit, and ends with nextCursor null", async () => {
      const first = await call(listUsers, { limit: "10" });
      assert.equal(first.body.items.length, 10);
      assert.equal(typeof first.body.nextCursor, "string");
      const all = await call(listUsers, { limit: "100" });
      assert.equal(all.body.nextCursor, null);
    });

    it("answers 400 naming limit for anything but an integer from 1 to 100", async () => {
      for (const limit of ["0", "101", "-1", "2.5", "ten", "1e2", " 5"]) {
        const { status, body } = await call(listUsers, { limit });
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
        const { status, body } = await call(listUsers, { cursor });
        assert.equal(status, 400, cursor);
        assert.equal(body.message, "query parameter cursor is invalid");
      }
      assert.equal((await call(listUsers, { cursor: valid })).status, 200);
    });
  });

  it("answers 500 with a generic message when the table fails, keeping the details out of the answer", async () => {
    const broken = { documents: dynamo.documents, table: "no-such-table" };
    const response = await serve(() => getUser(broken, { username: "x" }));
    assert.deepEqual([response.statusCode, JSON.parse(response.body)], [500, { message: "internal error" }]);
  });
});
