/**
 * URNs stay stable. A resource's URN is its identity in the stack's state: rename it, or move it
 * under another parent, and `pulumi up` deletes it and creates a new one. Each stack's URNs are
 * compared with the snapshot committed in test/infra/urns/<stack>.json.
 *
 * A resource that moved keeps its identity with `aliases` naming its old name and parent; its
 * old URN then counts as kept. After adding or removing resources on purpose, or once a moved
 * resource has its aliases, re-record the snapshots and commit them:
 *
 *   npm run urns:record
 */
import * as assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { knownStacks, named, type RunResult, runProgram, stackRun } from "../../tooling/mock-engine";
import { deployedUrns, readSnapshot, urnChanges } from "../../tooling/urns";

const RECORD = "re-record the snapshots with `npm run urns:record` and commit them";

describe("URNs stay stable", () => {
  for (const stack of knownStacks()) {
    describe(stack, () => {
      let run: RunResult;
      before(async function () {
        this.timeout(90_000);
        run = await stackRun(stack);
      });

      it("still has every snapshotted URN, as a resource's own or among its aliases", () => {
        const { missing } = urnChanges(readSnapshot(stack), run);
        const explain = (urn: string) =>
          `${urn} is gone: if the resource moved, give it \`aliases: [...]\` with its old name/parent; if it was removed on purpose, ${RECORD}`;
        assert.deepEqual(missing, [], missing.map(explain).join("\n"));
      });

      it("has no URN that the snapshot lacks", () => {
        const { added } = urnChanges(readSnapshot(stack), run);
        assert.deepEqual(added, [], added.map((urn) => `${urn} is not in test/infra/urns/${stack}.json: ${RECORD}`).join("\n"));
      });
    });
  }

  describe("a resource moved under a new parent", () => {
    const OLD_URN = "urn:pulumi:test::tributary::test:index:App$aws:sqs/queue:Queue::app-queue";
    const NEW_PART = "urn:pulumi:test::tributary::test:index:App$test:index:Inbox::app-inbox";
    const NEW_URN = "urn:pulumi:test::tributary::test:index:App$test:index:Inbox$aws:sqs/queue:Queue::app-inbox-queue";

    /** The queue made under the app, or moved under an inbox of the app (with or without aliases). */
    const program = (moved?: { aliases: boolean }) => () => {
      const app = new pulumi.ComponentResource("test:index:App", "app");
      if (!moved) {
        new aws.sqs.Queue("app-queue", {}, { parent: app });
        return;
      }
      const inbox = new pulumi.ComponentResource("test:index:Inbox", "app-inbox", {}, { parent: app });
      const aliases = moved.aliases ? [{ name: "app-queue", parent: app }] : [];
      new aws.sqs.Queue("app-inbox-queue", {}, { parent: inbox, aliases });
    };

    let snapshot: string[];
    before(async () => {
      snapshot = deployedUrns(await runProgram(program(), { stack: "test" }));
    });

    it("is kept when its alias names its old name and parent: the alias is its old URN", async () => {
      assert.ok(snapshot.includes(OLD_URN));
      const run = await runProgram(program({ aliases: true }), { stack: "test" });
      const queue = named(run, "aws:sqs/queue:Queue", "app-inbox-queue");
      assert.equal(queue.urn, NEW_URN);
      assert.deepEqual(queue.options.aliases, [OLD_URN]);
      // Only the new component is new; re-recording then stores the queue's new URN.
      assert.deepEqual(urnChanges(snapshot, run), { missing: [], added: [NEW_PART] });
      assert.ok(deployedUrns(run).includes(NEW_URN));
    });

    it("is missing, and new, without aliases", async () => {
      const run = await runProgram(program({ aliases: false }), { stack: "test" });
      assert.deepEqual(urnChanges(snapshot, run), { missing: [OLD_URN], added: [NEW_URN, NEW_PART] });
    });
  });
});
