import * as assert from "node:assert/strict";
import { runScript } from "../helpers/run-script";

// The migration itself runs against MongoDB in test/handlers/iota-mongo.test.ts (MONGODB_URI).
describe("npm run iota:migrate", () => {
  it("exits 2 with its usage when --uri or --db is missing, or the retention is not a whole number of days, at least 15", async () => {
    for (const args of [
      [],
      ["--uri", "mongodb://127.0.0.1:1"],
      ["--uri", "mongodb://127.0.0.1:1", "--db", "d", "--retention-days", "0.5"],
      ["--uri", "mongodb://127.0.0.1:1", "--db", "d", "--retention-days", "7"],
    ]) {
      const result = await runScript("iota-migrate", args);
      assert.equal(result.code, 2, args.join(" "));
      assert.match(result.stderr, /usage: npm run iota:migrate -- --uri <mongodb uri> --db <database>/);
    }
  });
});
