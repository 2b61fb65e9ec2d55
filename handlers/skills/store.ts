/**
 * Writes a source's rows to its BRN table in MySQL as its upstream pages arrive: chunk by
 * chunk, the rows are compared with what the table holds of them (a digest of each stored
 * row, computed by MySQL), and only new or changed rows are written, in batches, inside one
 * transaction per table. Memory holds one chunk, whatever the size of the table. A batch that
 * fails is retried row by row, so one bad row is reported and does not hold back the others.
 * A value longer than its column is cut to fit and reported.
 */
import { createHash } from "node:crypto";
import type { EventEmitter } from "node:events";
import type { Pool, PoolConnection, RowDataPacket } from "mysql2/promise";
import { type BrnTable, type Column, type ColumnKind, writtenColumns } from "./brn-schema";

/** One row, by column name: text, numbers (ints, 0/1 booleans), DATETIME as `YYYY-MM-DD HH:MM:SS` (UTC), or NULL. */
export type Row = Record<string, string | number | null>;

/** A row, or why the upstream record cannot become one. */
export type RowResult = { row: Row } | { error: string };

export interface SourceSummary {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  /** Why rows (or the whole source) failed. */
  errors: string[];
  /** What was left out but did not fail the source, such as unsafe archive entries. */
  skipped: string[];
  /** Values stored cut to their column. */
  truncated: Truncation[];
}

/** A value cut to fit its column: `length` is the value's own, in the column's `unit`. */
export interface Truncation {
  table: string;
  key: string;
  column: string;
  length: number;
  limit: number;
  unit: "characters" | "bytes";
}

export const emptySummary = (): SourceSummary => ({
  created: 0,
  updated: 0,
  unchanged: 0,
  failed: 0,
  errors: [],
  skipped: [],
  truncated: [],
});

/**
 * The connection to the database is gone (killed, dropped, refused). Its message is the
 * first error, not the "closed state" ones that every later statement on it gets.
 */
export class DatabaseConnectionError extends Error {
  constructor(readonly first: unknown) {
    super(first instanceof Error ? first.message : String(first));
    this.name = "DatabaseConnectionError";
  }
}

export const BATCH_SIZE = 100;
/** Rows compared at a time: one SELECT reads the digests of those the table holds. */
export const CHUNK_SIZE = 100;

/** Table and column names are quoted, never interpolated raw. */
const quote = (identifier: string) => `\`${identifier.replace(/`/g, "``")}\``;

/** A value as MySQL gives it back, for comparison with the value to write. */
function normalized(kind: ColumnKind, value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case "int":
    case "bool":
      return Number(value);
    default:
      return String(value);
  }
}

/** UTF-8 bytes of one code point; a lone surrogate is sent as U+FFFD, 3 bytes. */
const utf8Bytes = (codePoint: number) => (codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4);

/**
 * `value` cut to what `column` holds, as MySQL outside strict mode stores it: VARCHAR(n)
 * keeps n characters, which utf8mb4 counts in code points (an emoji is one, a combining
 * accent is one of its own); TEXT keeps as many whole characters as fit its bytes.
 * Undefined when the value fits.
 */
export function cutToColumn(
  column: Column,
  value: string,
): { value: string; length: number; limit: number; unit: Truncation["unit"] } | undefined {
  if (column.length !== undefined) {
    // A string has at least as many UTF-16 units as code points.
    if (value.length <= column.length) return undefined;
    const codePoints = Array.from(value);
    if (codePoints.length <= column.length) return undefined;
    return { value: codePoints.slice(0, column.length).join(""), length: codePoints.length, limit: column.length, unit: "characters" };
  }
  if (column.maxBytes !== undefined) {
    const length = Buffer.byteLength(value, "utf8");
    if (length <= column.maxBytes) return undefined;
    let bytes = 0;
    let end = 0;
    for (const character of value) {
      bytes += utf8Bytes(character.codePointAt(0)!);
      if (bytes > column.maxBytes) break;
      end += character.length;
    }
    return { value: value.slice(0, end), length, limit: column.maxBytes, unit: "bytes" };
  }
  return undefined;
}

/** The row as it can be stored, with the values cut to fit; or why it cannot be. */
function storable(table: BrnTable, row: Row): { row: Row; truncated: Truncation[] } | { error: string } {
  const key = row[table.key];
  if (key === null || key === undefined) return { error: `${table.key} is missing` };
  const fitted: Row = { ...row };
  const cuts: Truncation[] = [];
  for (const [name, column] of Object.entries(table.columns)) {
    const value = row[name];
    if (typeof value !== "string") continue;
    const cut = cutToColumn(column, value);
    if (!cut) continue;
    // A key cut short could land on another record's row.
    if (name === table.key) return { error: `${name} is ${cut.length} ${cut.unit}; the column holds ${cut.limit}` };
    fitted[name] = cut.value;
    cuts.push({ table: table.name, key: String(key), column: name, length: cut.length, limit: cut.limit, unit: cut.unit });
  }
  return { row: fitted, truncated: cuts };
}

/** Code points of a string, as CHAR_LENGTH counts them (a lone surrogate is stored as one U+FFFD). */
function codePoints(text: string): number {
  if (!/[\uD800-\uDFFF]/.test(text)) return text.length;
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * The digest of a row's written columns: SHA-256 of each value as `{code points}:{text}`,
 * or `-` for NULL, one after another. MySQL computes the same of a stored row (storedDigests),
 * in UTF-8 whatever the table's character set.
 */
export function rowDigest(table: BrnTable, columns: string[], row: Row): string {
  const hash = createHash("sha256");
  for (const column of columns) {
    const value = normalized(table.columns[column].kind, row[column]);
    if (value === null) {
      hash.update("-");
    } else {
      const text = String(value);
      hash.update(`${codePoints(text)}:`);
      hash.update(text);
    }
  }
  return hash.digest("hex");
}

/** The digests of the rows the table holds among `keys`, by key. */
async function storedDigests(
  connection: PoolConnection,
  table: BrnTable,
  columns: string[],
  keys: (string | number)[],
): Promise<Map<string, string>> {
  if (keys.length === 0) return new Map();
  const values = columns.map((c) => `IFNULL(CONCAT(CHAR_LENGTH(${quote(c)}), ':', ${quote(c)}), '-')`).join(", ");
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT ${quote(table.key)} AS k, SHA2(CONVERT(CONCAT(${values}) USING utf8mb4), 256) AS d FROM ${quote(table.name)} WHERE ${quote(table.key)} IN (?)`,
    [keys],
  );
  return new Map(rows.map((row) => [String(row.k), String(row.d)]));
}

/**
 * New rows in one multi-row INSERT; changed rows one UPDATE each. Not INSERT ... ON DUPLICATE
 * KEY UPDATE: a clash on another unique index (a badge's name) would silently update the
 * other row instead of failing.
 */
async function write(
  connection: PoolConnection,
  table: BrnTable,
  columns: string[],
  rows: Row[],
  stored: Map<string, string>,
): Promise<void> {
  const inserts = rows.filter((row) => !stored.has(String(row[table.key])));
  if (inserts.length > 0) {
    const placeholders = `(${columns.map(() => "?").join(", ")})`;
    await connection.query(
      `INSERT INTO ${quote(table.name)} (${columns.map(quote).join(", ")}) VALUES ${inserts.map(() => placeholders).join(", ")}`,
      inserts.flatMap((row) => columns.map((c) => row[c] ?? null)),
    );
  }
  const updated = columns.filter((c) => c !== table.key);
  for (const row of rows.filter((r) => stored.has(String(r[table.key])))) {
    await connection.query(
      `UPDATE ${quote(table.name)} SET ${updated.map((c) => `${quote(c)} = ?`).join(", ")} WHERE ${quote(table.key)} = ?`,
      [...updated.map((c) => row[c] ?? null), row[table.key]],
    );
  }
}

const isFatal = (err: unknown) => (err as { fatal?: unknown })?.fatal === true;

/**
 * Brings `table` in line with the rows of `pages`, read as they come: writes what is new or
 * changed, counts what is unchanged, and counts the records that could not become rows as
 * failed. Rows that vanished upstream are kept. Values
 * longer than their column are stored cut to fit, and listed in the summary.
 *
 * The connection is made before the first page is read. When it cannot be made, or is lost,
 * nothing of the table is committed and a DatabaseConnectionError names the first error. When
 * the pages fail (the upstream listing), nothing is committed either, and their error is thrown.
 */
export async function syncRows(pool: Pool, table: BrnTable, pages: AsyncIterable<RowResult[]>): Promise<SourceSummary> {
  const summary = emptySummary();
  const columns = writtenColumns(table);
  const connection = await pool.getConnection().catch((err: unknown) => {
    throw new DatabaseConnectionError(err);
  });
  // A connection the server closes between two statements says so in an event; the statements after it only fail with "closed state".
  let closedWith: unknown;
  const onClosed = (err: unknown) => (closedWith ??= err);
  const events = connection.connection as unknown as EventEmitter;
  events.on("error", onClosed);
  const lost = (err: unknown) => new DatabaseConnectionError(closedWith ?? err);
  /** Undoes a failed write; a connection that cannot is gone, and `cause` is what to report. */
  const rollbackTo = (savepoint: string, cause: unknown) =>
    connection.query(`ROLLBACK TO SAVEPOINT ${savepoint}`).catch(() => {
      throw lost(cause);
    });

  /** Compares a chunk of rows with the table's, and writes the new and changed ones. */
  const syncChunk = async (results: RowResult[]) => {
    const rows: Row[] = [];
    for (const result of results) {
      const fitted = "row" in result ? storable(table, result.row) : result;
      if ("error" in fitted) {
        summary.failed += 1;
        summary.errors.push("row" in result ? `${table.name} ${result.row[table.key] ?? "(no key)"}: ${fitted.error}` : fitted.error);
        continue;
      }
      summary.truncated.push(...fitted.truncated);
      rows.push(fitted.row);
    }
    const stored = await storedDigests(
      connection,
      table,
      columns,
      rows.map((row) => row[table.key] as string | number),
    );
    const changed = rows.filter((row) => stored.get(String(row[table.key])) !== rowDigest(table, columns, row));
    summary.unchanged += rows.length - changed.length;
    const count = (row: Row) => (stored.has(String(row[table.key])) ? (summary.updated += 1) : (summary.created += 1));
    for (let i = 0; i < changed.length; i += BATCH_SIZE) {
      const batch = changed.slice(i, i + BATCH_SIZE);
      await connection.query("SAVEPOINT batch");
      try {
        await write(connection, table, columns, batch, stored);
        batch.forEach(count);
      } catch (err) {
        if (isFatal(err)) throw lost(err);
        // One bad row (a duplicate unique name) must not hold back the others.
        await rollbackTo("batch", err);
        for (const row of batch) {
          await connection.query("SAVEPOINT one");
          try {
            await write(connection, table, columns, [row], stored);
            count(row);
          } catch (err) {
            if (isFatal(err)) throw lost(err);
            await rollbackTo("one", err);
            summary.failed += 1;
            summary.errors.push(`${table.name} ${row[table.key]}: ${(err as Error).message}`);
          }
        }
      }
    }
  };

  try {
    await connection.beginTransaction();
    let pending: RowResult[] = [];
    for await (const page of pages) {
      pending = pending.length > 0 ? pending.concat(page) : page;
      let start = 0;
      for (; pending.length - start >= CHUNK_SIZE; start += CHUNK_SIZE) await syncChunk(pending.slice(start, start + CHUNK_SIZE));
      pending = pending.slice(start);
    }
    if (pending.length > 0) await syncChunk(pending);
    await connection.commit();
    return summary;
  } catch (err) {
    const usable = await connection.rollback().then(
      () => true,
      () => false,
    );
    throw err instanceof DatabaseConnectionError || (usable && !isFatal(err)) ? err : lost(err);
  } finally {
    events.off("error", onClosed);
    connection.release();
  }
}
