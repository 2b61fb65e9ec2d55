import * as assert from "node:assert/strict";
import { buildDiagram, resourceArn } from "../../scripts/lib/diagram";
import { stackRun } from "../../tooling/mock-engine";

/** The label of every node, and every edge as "from label -> to label". */
function parse(mermaid: string) {
  const labels = new Map([...mermaid.matchAll(/^\s+(n[0-9a-f]{12})\["([^"]*)"\]$/gm)].map((m) => [m[1], m[2]]));
  const edges = [...mermaid.matchAll(/^\s+(n[0-9a-f]{12}) -->(?:\|"([^"]*)"\|)? (n[0-9a-f]{12})$/gm)].map(
    (m) => `${labels.get(m[1])} -${m[2] ?? ""}-> ${labels.get(m[3])}`,
  );
  return { labels: [...labels.values()], edges };
}

describe("the preview's diagram", () => {
  it("draws each store once, with what the stack adopts marked, and nothing it owns as existing (prod)", async () => {
    const { labels, edges } = parse(buildDiagram(await stackRun("prod")).mermaid);
    assert.deepEqual(
      labels.filter((l) => l.includes("(existing)")),
      [],
    );
    assert.deepEqual(
      labels.filter((l) => l.includes("iota")).filter((l) => l.startsWith("event bus")),
      ["event bus: iota-bus (adopted)"],
    );
    assert.ok(edges.includes("λ: skills-sync -PutObject, DeleteObject-> S3 bucket: skills-templates (adopted)"), edges.join("\n"));
    assert.ok(edges.includes("Atlas trigger freecodecamp.user: lessons-trigger (adopted) --> event bus: lessons-trigger-bus (adopted)"));
    assert.ok(edges.includes("λ: iota-records-fn -PutEvents-> event bus: iota-bus (adopted)"));
  });

  it("draws the templates bucket the dev stack creates as its own", async () => {
    const { labels, edges } = parse(buildDiagram(await stackRun("dev")).mermaid);
    assert.ok(edges.includes("λ: skills-sync -PutObject, DeleteObject-> S3 bucket: skills-templates"), edges.join("\n"));
    assert.deepEqual(
      labels.filter((l) => l.includes("(existing)") || l.includes("(adopted)")),
      [],
    );
  });

  it("draws alma's topics feeding each cache function's queue, and the queue feeding the function, not as a store", async () => {
    const { edges } = parse(buildDiagram(await stackRun("dev")).mermaid);
    for (const event of ["loan-created", "loan-renewed", "loan-due-date"]) {
      assert.ok(edges.includes(`SNS topic: alma-topic-${event} --> SQS queue: alma-loan-updated-queue`), edges.join("\n"));
    }
    assert.ok(edges.includes("SQS queue: alma-loan-updated-queue --> λ: alma-loan-updated"), edges.join("\n"));
    assert.deepEqual(
      edges.filter((e) => e.startsWith("λ: alma-loan-updated -") && e.includes("-queue")),
      [],
    );
    assert.ok(edges.includes("λ: alma-loan-updated -SendMessage-> SQS queue: alma-users"), "the users queue stays a store");
  });

  it("reduces a statement's ARN to the resource it points into", () => {
    assert.equal(resourceArn("arn:aws:s3:::bucket-1/templates/*"), "arn:aws:s3:::bucket-1");
    assert.equal(resourceArn("arn:aws:dynamodb:eu-west-2:1:table/t/index/*"), "arn:aws:dynamodb:eu-west-2:1:table/t");
    assert.equal(resourceArn("arn:aws:logs:eu-west-2:1:log-group:g:*"), "arn:aws:logs:eu-west-2:1:log-group:g");
  });
});
