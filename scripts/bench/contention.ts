/**
 * N simultaneous returns of one user's loans, against dynalite, driven as Lambda would drive
 * alma-loan-returned: in batches of 10 by at most 5 concurrent invocations (the event source
 * mapping's batch size and default maximumConcurrency), or, the worst case, N single-record
 * invocations all at once. Each invocation gets the default function's time budget (30 s).
 * Counts the invocations that failed (threw, or answered with a failed record), the returned
 * ids still in the user's list (dangling), and every DynamoDB request.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { ALMA_TABLES, TOMBSTONES_TABLE } from "../../apps/alma/tables";
import type { AlmaCacheClients } from "../../handlers/alma/cache";
import { documentsOf } from "../../handlers/lib/dynamodb";
import { SqsSender } from "../../handlers/lib/sqs-send";
import { loanReturned } from "../../handlers/alma/cache-functions";
import { localClientConfig } from "../../tooling/local/aws";
import type { LocalDynamo } from "../../tooling/local/dynamo";
import { startFaultProxy } from "../../tooling/local/fault-proxy";
import type { FakeSqs } from "../../tooling/local/fake-sqs";
import { queuedSnsEvent } from "../events/wrap";
import { PAYLOADS_DIR } from "../../paths";

export type ContentionMode = "batches" | "singles";

export interface ContentionRun {
  returns: number;
  mode: ContentionMode;
  invocations: number;
  failedInvocations: number;
  /** Returned loan ids still in the user's list. */
  dangling: string[];
  /** The user's list at the end. */
  loanIds: string[];
  dynamoRequests: number;
  seconds: number;
}

const BATCH_SIZE = 10;
const MAXIMUM_CONCURRENCY = 5;
const FUNCTION_TIMEOUT_MS = 30_000;
/** Ids the returns leave alone, around and among the returned ones. */
const KEPT = ["kept-first", "kept-middle", "kept-last"];

let runs = 0;

export async function simultaneousReturns(
  dynamo: LocalDynamo,
  sqs: FakeSqs,
  returns: number,
  mode: ContentionMode,
): Promise<ContentionRun> {
  runs += 1;
  const tables = { users: `c${runs}-users`, loans: `c${runs}-loans`, requests: `c${runs}-requests`, tombstones: `c${runs}-tombstones` };
  for (const [key, schema] of Object.entries({ ...ALMA_TABLES, tombstones: TOMBSTONES_TABLE }))
    await dynamo.createTable(tables[key as keyof typeof tables], schema);
  // The handlers' requests go through a proxy that counts them.
  const proxy = await startFaultProxy(dynamo.endpoint);
  const clients: AlmaCacheClients = {
    documents: documentsOf(localClientConfig(proxy.url)),
    sqs: new SqsSender(localClientConfig(sqs.url)),
    tables,
    usersQueueUrl: sqs.queueUrl("users"),
    now: Date.now,
  };

  const base = JSON.parse(JSON.parse(fs.readFileSync(path.join(PAYLOADS_DIR, "alma-webhook", "loan_returned_event.json"), "utf8")).body);
  const returned = Array.from({ length: returns }, (_, i) => `loan-${i}`);
  const half = Math.floor(returns / 2);
  const loanIds = [KEPT[0], ...returned.slice(0, half), KEPT[1], ...returned.slice(half), KEPT[2]];
  await dynamo.documents.send(
    new PutCommand({
      TableName: tables.users,
      Item: { primary_id: "lbaajh", loan_ids: loanIds, request_ids: [], fee_ids: [], expiry_date: Math.floor(Date.now() / 1000) + 86_400 },
    }),
  );
  for (const id of loanIds)
    await dynamo.documents.send(new PutCommand({ TableName: tables.loans, Item: { loan_id: id, user_id: "lbaajh" } }));
  const time = new Date(Date.now() - 60_000).toISOString();
  const messages = returned.map((loan_id) => JSON.stringify({ ...base, time, item_loan: { ...base.item_loan, loan_id } }));

  const handler = loanReturned(clients);
  let failedInvocations = 0;
  const invoke = async (batch: string[]) => {
    const deadline = Date.now() + FUNCTION_TIMEOUT_MS;
    try {
      const { batchItemFailures } = await handler(queuedSnsEvent(batch), { getRemainingTimeInMillis: () => deadline - Date.now() });
      if (batchItemFailures.length > 0) failedInvocations++;
    } catch {
      failedInvocations++;
    }
  };
  const batches =
    mode === "singles"
      ? messages.map((m) => [m])
      : Array.from({ length: Math.ceil(returns / BATCH_SIZE) }, (_, i) => messages.slice(i * BATCH_SIZE, (i + 1) * BATCH_SIZE));
  const concurrency = mode === "singles" ? batches.length : MAXIMUM_CONCURRENCY;
  const before = proxy.requests;
  const start = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches.length) await invoke(batches[next++]);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const requests = proxy.requests - before;
  await proxy.close();
  const user = (
    await dynamo.documents.send(new GetCommand({ TableName: tables.users, Key: { primary_id: "lbaajh" }, ConsistentRead: true }))
  ).Item;
  const finalIds: string[] = user?.loan_ids ?? [];
  return {
    returns,
    mode,
    invocations: batches.length,
    failedInvocations,
    dangling: finalIds.filter((id) => returned.includes(id)),
    loanIds: finalIds,
    dynamoRequests: requests,
    seconds,
  };
}

/** One line of the bench's requests table. */
export function contentionRow(run: ContentionRun): string {
  const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  const how =
    run.mode === "singles"
      ? `${plural(run.invocations, "single-record invocation")} at once`
      : `${plural(run.invocations, "batch", "batches")}, ${MAXIMUM_CONCURRENCY} at a time`;
  return `| alma loan-returned, ${plural(run.returns, "return")} at once on one user (${how}) → ${run.failedInvocations} failed invocations, ${run.dangling.length} dangling ids, ${run.seconds.toFixed(1)} s | ${run.dynamoRequests} (${(run.dynamoRequests / run.returns).toFixed(1)} per event) | 0 | 0 | 0 | 0 | 0 |`;
}
