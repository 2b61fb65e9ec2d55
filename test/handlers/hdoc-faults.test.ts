/** Bad input and faults of the hdoc users API: see test/helpers/faults.ts. */
import * as assert from "node:assert/strict";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { HDOC_USERS_TABLE } from "../../apps/hdoc/hdoc-backend";
import { getUser, listUsers, USERNAME_MISSING, usersApi } from "../../handlers/hdoc/users";
import { queryOf, serve } from "../../handlers/lib/http-api";
import { localClientConfig } from "../../tooling/local/aws";
import { OVERSIZED, useFaultRig, WEIRD_ID } from "../helpers/faults";

describe("bad input and faults", function () {
  this.timeout(60_000);
  const rig = useFaultRig();

  describe("hdoc", () => {
    const api = () => usersApi(localClientConfig(rig.proxy.url), "bad-input-users", { except: [] });
    before(async () => {
      await rig.dynamo.createTable("bad-input-users", HDOC_USERS_TABLE);
      await rig.dynamo.documents.send(new PutCommand({ TableName: "bad-input-users", Item: { github_username: WEIRD_ID, day: 3 } }));
    });
    const call = (route: typeof getUser, event: unknown) =>
      serve(() => route(api(), queryOf(event))).then((r) => ({
        status: r.statusCode,
        body: r.headers["content-type"] === "application/json" ? JSON.parse(r.body) : r.body,
      }));
    // A missing username is a 404 with the text the frontend reads; the rest are 400s naming the field.
    const cases: [string, typeof getUser, unknown, number, RegExp][] = [
      ["empty event", getUser, {}, 404, new RegExp(USERNAME_MISSING)],
      ["an SNS envelope", listUsers, { Records: [] }, 200, /.*/],
      ["a wrong type for username", getUser, { queryStringParameters: { username: ["a"] } }, 404, new RegExp(USERNAME_MISSING)],
      ["a wrong type for limit", listUsers, { queryStringParameters: { limit: 5 } }, 400, /limit/],
      ["a limit that is not a number", listUsers, { queryStringParameters: { limit: "1; DROP" } }, 400, /limit/],
      ["a forged cursor", listUsers, { queryStringParameters: { cursor: Buffer.from('{"$gt":""}').toString("base64url") } }, 400, /cursor/],
      ["an oversized cursor", listUsers, { queryStringParameters: { cursor: OVERSIZED } }, 400, /cursor/],
    ];
    for (const [name, route, event, status, message] of cases) {
      it(`answers ${status} to ${name}`, async () => {
        const { status: got, body } = await call(route, event);
        assert.equal(got, status);
        if (status !== 200) assert.match(typeof body === "string" ? body : body.message, message);
      });
    }

    it("reads unicode and injection-looking names verbatim", async () => {
      assert.deepEqual((await call(getUser, { queryStringParameters: { username: WEIRD_ID } })).body, {
        github_username: WEIRD_ID,
        day: 3,
      });
    });

    it("answers after throttling, and 500 without details once the retries run out", async () => {
      rig.proxy.inject({ kind: "throttle" }, 1);
      assert.equal((await call(getUser, { queryStringParameters: { username: WEIRD_ID } })).status, 200);
      rig.proxy.inject({ kind: "throttle" }, 10);
      assert.deepEqual(await call(getUser, { queryStringParameters: { username: WEIRD_ID } }), {
        status: 500,
        body: { message: "internal error" },
      });
    });
  });
});
