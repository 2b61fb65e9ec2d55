/**
 * Writes a source's items to its table: only new or changed items are written, in batches
 * of at most 25, and items DynamoDB leaves unprocessed are retried with backoff.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { scanAll } from "../dynamo";

export interface SourceSummary {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  /** Why items (or the whole source) failed. */
  errors: string[];
}

export const emptySummary = (): SourceSummary => ({ created: 0, updated: 0, unchanged: 0, failed: 0, errors: [] });

/** The same JSON for equal values, whatever the key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

export const BATCH_SIZE = 25;
const MAX_UNPROCESSED_ROUNDS = 5;

/** Puts `items` in batches of 25; returns the number written and the reasons of those that were not. */
export async function putInBatches(
  documents: DynamoDBDocumentClient,
  table: string,
  items: Record<string, unknown>[],
  pauseMs = (round: number) => 50 * 2 ** round * (0.5 + Math.random()),
): Promise<{ written: number; errors: string[] }> {
  let written = 0;
  const errors: string[] = [];
  for (let i = 0; i < items.length; i += BATCH_SIZE) {
    let requests = items.slice(i, i + BATCH_SIZE).map((Item) => ({ PutRequest: { Item } }));
    try {
      for (let round = 0; requests.length > 0; round++) {
        if (round > MAX_UNPROCESSED_ROUNDS) {
          errors.push(`${requests.length} items stayed unprocessed after ${MAX_UNPROCESSED_ROUNDS} retries`);
          break;
        }
        if (round > 0) await new Promise((r) => setTimeout(r, pauseMs(round)));
        const sent = requests.length;
        const result = await documents.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
        requests = (result.UnprocessedItems?.[table] ?? []) as typeof requests;
        written += sent - requests.length;
      }
    } catch (err) {
      errors.push(`batch of ${requests.length} items: ${(err as Error).message}`);
    }
  }
  return { written, errors };
}

/**
 * Brings `table` in line with `items` (keyed by `key`): writes what is new or changed and
 * counts what is unchanged. `keep` names stored attributes that are not the source's and
 * are carried over unchanged (such as the release a template was synced at).
 */
export async function syncItems(
  documents: DynamoDBDocumentClient,
  table: string,
  key: string,
  items: Record<string, unknown>[],
  keep: string[] = [],
): Promise<SourceSummary & { stored: Map<string, Record<string, any>> }> {
  const summary = emptySummary();
  const stored = new Map((await scanAll(documents, table)).map((item) => [String(item[key]), item]));
  const changed: Record<string, unknown>[] = [];
  let created = 0;
  for (const item of items) {
    const previous = stored.get(String(item[key]));
    const carried = previous ? Object.fromEntries(keep.filter((k) => k in previous).map((k) => [k, previous[k]])) : {};
    const next = { ...item, ...carried };
    if (previous && canonical(previous) === canonical(next)) {
      summary.unchanged += 1;
      continue;
    }
    if (!previous) created += 1;
    changed.push(next);
  }
  const { written, errors } = await putInBatches(documents, table, changed);
  const failed = changed.length - written;
  // Failures are counted against updates first: which items of a failed batch were new is not known.
  summary.created = Math.min(created, written);
  summary.updated = written - summary.created;
  summary.failed += failed;
  summary.errors.push(...errors);
  return { ...summary, stored };
}
