/**
 * Draws what a run would deploy as a Mermaid flowchart: event sources (topics, and the queues
 * they feed) → functions → stores.
 * Everything is derived from the recorded resource inputs, so new apps appear without changes
 * here as long as they use the usual resource types.
 */
import { createHash } from "node:crypto";
import type { RecordedResource, RunResult } from "../../tooling/mock-engine";

interface Node {
  id: string;
  label: string;
  kind: "source" | "function" | "store";
}

interface Edge {
  from: string;
  to: string;
  label?: string;
}

const FUNCTION = "aws:lambda/function:Function";
const STORE_TYPES: Record<string, string> = {
  "aws:dynamodb/table:Table": "DynamoDB table",
  "aws:s3/bucket:Bucket": "S3 bucket",
  "aws:s3/bucketV2:BucketV2": "S3 bucket",
  "aws:sqs/queue:Queue": "SQS queue",
  "aws:sns/topic:Topic": "SNS topic",
  "aws:cloudwatch/eventBus:EventBus": "event bus",
};
/** Permissions that say a function writes to or reads from a store, rather than merely touching it. */
const DATA_ACTION = /^(dynamodb|s3|sqs|sns|events):/;

function nodeId(urnOrArn: string): string {
  return `n${createHash("sha1").update(urnOrArn).digest("hex").slice(0, 12)}`;
}

function escapeLabel(text: string): string {
  return text.replace(/"/g, "'");
}

/**
 * The ARN of the resource a statement's ARN points into: a bucket for its objects
 * (`arn:aws:s3:::b/templates/*`), a table for its indexes, a log group for its streams.
 */
export function resourceArn(arn: string): string {
  if (arn.startsWith("arn:aws:s3:::")) return arn.replace(/\/.*$/, "");
  return arn.replace(/(\/index\/\*|\/\*|:\*)$/, "");
}

/** The last readable segment of an ARN: the topic, table or queue name. */
function arnName(arn: string): string {
  return arn.split(/[:/]/).filter(Boolean).pop() ?? arn;
}

export function buildDiagram(run: RunResult): { mermaid: string; functions: number; edges: number } {
  const custom = run.resources.filter((r) => !r.read && r.type.startsWith("aws:"));
  const byArn = new Map<string, RecordedResource>();
  for (const r of custom) if (typeof r.state.arn === "string") byArn.set(r.state.arn, r);

  const nodes = new Map<string, Node>();
  const edges: Edge[] = [];
  const addNode = (key: string, label: string, kind: Node["kind"]) => {
    const id = nodeId(key);
    if (!nodes.has(id)) nodes.set(id, { id, label, kind });
    return id;
  };
  const resourceNode = (r: RecordedResource, kind: Node["kind"], what: string) =>
    addNode(r.urn, `${what}: ${r.name}${r.options.import ? " (adopted)" : ""}`, kind);
  /** A node for an ARN: the resource it belongs to, or an external one (an existing topic, say). */
  const arnNode = (arn: string, kind: Node["kind"], what: string) => {
    const base = resourceArn(arn);
    const r = byArn.get(base);
    return r ? resourceNode(r, kind, STORE_TYPES[r.type] ?? what) : addNode(base, `${what} (existing): ${arnName(base)}`, kind);
  };
  const functionByArn = (arn: unknown): RecordedResource | undefined => {
    if (typeof arn !== "string") return undefined;
    return custom.find((r) => r.type === FUNCTION && (arn === r.state.arn || arn === r.state.invokeArn || arn === r.state.name));
  };

  const functions = custom.filter((r) => r.type === FUNCTION);
  for (const fn of functions) resourceNode(fn, "function", "λ");

  const everything = run.resources.filter((r) => !r.read);
  for (const r of everything) {
    const inputs = r.rawInputs;
    switch (r.type) {
      case "aws:sns/topicSubscription:TopicSubscription": {
        const fn = inputs.protocol === "lambda" ? functionByArn(inputs.endpoint) : undefined;
        if (fn) edges.push({ from: arnNode(inputs.topic, "source", "SNS topic"), to: resourceNode(fn, "function", "λ") });
        // A queue a topic feeds is an event source of whatever reads it (an event source mapping, below).
        if (inputs.protocol === "sqs" && typeof inputs.endpoint === "string") {
          edges.push({ from: arnNode(inputs.topic, "source", "SNS topic"), to: arnNode(inputs.endpoint, "source", "SQS queue") });
        }
        break;
      }
      case "aws:cloudwatch/eventTarget:EventTarget": {
        const fn = functionByArn(inputs.arn);
        if (!fn) break;
        const rule = custom.find((x) => x.type === "aws:cloudwatch/eventRule:EventRule" && x.state.name === inputs.rule);
        const bus = inputs.eventBusName ?? rule?.rawInputs.eventBusName ?? "default";
        const busResource = custom.find((x) => x.type === "aws:cloudwatch/eventBus:EventBus" && x.state.name === bus);
        const from = busResource ? resourceNode(busResource, "source", "event bus") : addNode(`bus:${bus}`, `event bus: ${bus}`, "source");
        edges.push({ from, to: resourceNode(fn, "function", "λ"), label: rule ? `rule ${rule.name}` : undefined });
        break;
      }
      case "aws:scheduler/schedule:Schedule": {
        const fn = functionByArn(inputs.target?.arn);
        if (fn)
          edges.push({ from: resourceNode(r, "source", `schedule ${inputs.scheduleExpression}`), to: resourceNode(fn, "function", "λ") });
        break;
      }
      case "aws:apigatewayv2/integration:Integration": {
        const fn = functionByArn(inputs.integrationUri);
        const api = custom.find((x) => x.type === "aws:apigatewayv2/api:Api" && x.id === inputs.apiId);
        const routes = custom
          .filter((x) => x.type === "aws:apigatewayv2/route:Route" && x.rawInputs.target === `integrations/${r.id}`)
          .map((x) => x.rawInputs.routeKey);
        if (fn && api)
          edges.push({
            from: resourceNode(api, "source", "HTTP API"),
            to: resourceNode(fn, "function", "λ"),
            label: routes.join(", ") || undefined,
          });
        break;
      }
      case "aws:cloudwatch/eventBus:EventBus": {
        // A partner bus fed by an Atlas trigger carries the trigger's id in its source name.
        const source = inputs.eventSourceName;
        const trigger = everything.find(
          (x) =>
            x.type.startsWith("mongodbatlas:") &&
            x.type.endsWith(":EventTrigger") &&
            typeof source === "string" &&
            source.endsWith(`/${x.state.triggerId}`),
        );
        if (trigger)
          edges.push({
            from: resourceNode(
              trigger,
              "source",
              `Atlas trigger ${trigger.rawInputs.configDatabase}.${trigger.rawInputs.configCollection}`,
            ),
            to: resourceNode(r, "source", "event bus"),
          });
        break;
      }
      case "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": {
        const fn = functionByArn(inputs.functionName);
        const queue = inputs.destinationConfig?.onFailure?.destination;
        if (fn && typeof queue === "string")
          edges.push({ from: resourceNode(fn, "function", "λ"), to: arnNode(queue, "store", "queue"), label: "failures" });
        break;
      }
      case "aws:lambda/eventSourceMapping:EventSourceMapping": {
        const fn = functionByArn(inputs.functionName);
        if (fn) edges.push({ from: arnNode(inputs.eventSourceArn, "source", "queue"), to: resourceNode(fn, "function", "λ") });
        break;
      }
    }
  }

  // Stores: what each function's role lets it read or write; the queue it reads through an
  // event source mapping is its source, drawn above, not a store.
  const mappings = everything.filter((r) => r.type === "aws:lambda/eventSourceMapping:EventSourceMapping");
  for (const fn of functions) {
    const sources = new Set(
      mappings.filter((m) => functionByArn(m.rawInputs.functionName) === fn).map((m) => resourceArn(String(m.rawInputs.eventSourceArn))),
    );
    // NodeFunction keeps the function and its one role policy side by side under the component.
    const policy = custom.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.parent === fn.parent);
    if (!policy) continue;
    const document = typeof policy.rawInputs.policy === "string" ? JSON.parse(policy.rawInputs.policy) : policy.rawInputs.policy;
    for (const statement of document.Statement ?? []) {
      const actions: string[] = [statement.Action].flat();
      if (statement.Sid === "KeepFailedEvents" || !actions.some((a) => DATA_ACTION.test(a))) continue;
      for (const arn of [statement.Resource].flat()) {
        if (typeof arn !== "string" || arn === "*" || sources.has(resourceArn(arn))) continue;
        const verbs = [...new Set(actions.map((a) => a.split(":")[1]))].join(", ");
        edges.push({ from: resourceNode(fn, "function", "λ"), to: arnNode(arn, "store", "store"), label: verbs });
      }
    }
  }

  const lines = ["flowchart LR"];
  const groups: [Node["kind"], string][] = [
    ["source", "Event sources"],
    ["function", "Functions"],
    ["store", "Stores"],
  ];
  for (const [kind, title] of groups) {
    const members = [...nodes.values()].filter((n) => n.kind === kind);
    if (members.length === 0) continue;
    lines.push(`  subgraph ${kind}s["${title}"]`);
    for (const n of members) lines.push(`    ${n.id}["${escapeLabel(n.label)}"]`);
    lines.push("  end");
  }
  const seen = new Set<string>();
  for (const e of edges) {
    const line = e.label ? `  ${e.from} -->|"${escapeLabel(e.label)}"| ${e.to}` : `  ${e.from} --> ${e.to}`;
    if (!seen.has(line)) lines.push(line);
    seen.add(line);
  }
  return { mermaid: `${lines.join("\n")}\n`, functions: functions.length, edges: seen.size };
}
