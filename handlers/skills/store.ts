/**
 * Writes a source's rows to its BRN table in MySQL: rows are compared with what the table
 * holds, and only new or changed rows are written, in batches, inside one transaction per
 * table. A batch that fails is retried row by row, so one bad row is reported and does not
 * hold back the others.
 */
import type { Pool, PoolConnection, RowDataPacket } from "mysql2/promise";
import { type BrnTable, type ColumnKind, writtenColumns } from "./brn-schema";

/** One row, by column name: text, numbers (ints, 0/1 booleans), DATETIME as `YYYY-MM-DD HH:MM:SS` (UTC), or NULL. */
export type Row = Record<string, string | number | null>;

export interface SourceSummary {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  /** Why rows (or the whole source) failed. */
  errors: string[];
  /** What was left out but did not fail the source, such as unsafe archive entries. */
  skipped: string[];
}

export const emptySummary = (): SourceSummary => ({ created: 0, updated: 0, unchanged: 0, failed: 0, errors: [], skipped: [] });

export const BATCH_SIZE = 100;

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

/** Why a row cannot be stored as it is, or undefined. */
function invalid(table: BrnTable, row: Row): string | undefined {
  for (const [name, column] of Object.entries(table.columns)) {
    const value = row[name];
    if (column.length !== undefined && typeof value === "string" && value.length > column.length) {
      return `${name} is ${value.length} characters; the column holds ${column.length}`;
    }
  }
  if (row[table.key] === null || row[table.key] === undefined) return `${table.key} is missing`;
  return undefined;
}

/** Every row the table holds, keyed by its primary key. */
export async function readRows(db: Pool | PoolConnection, table: BrnTable): Promise<Map<string, Row>> {
  const [rows] = await db.query<RowDataPacket[]>(`SELECT ${Object.keys(table.columns).map(quote).join(", ")} FROM ${quote(table.name)}`);
  return new Map(rows.map((row) => [String(row[table.key]), row as Row]));
}

/**
 * New rows in one multi-row INSERT; changed rows one UPDATE each. Not INSERT ... ON DUPLICATE
 * KEY UPDATE: a clash on another unique index (a badge's name) would silently update the
 * other row instead of failing.
 */
async function write(connection: PoolConnection, table: BrnTable, columns: string[], rows: Row[], stored: Map<string, Row>): Promise<void> {
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
    await connection.query(`UPDATE ${quote(table.name)} SET ${updated.map((c) => `${quote(c)} = ?`).join(", ")} WHERE ${quote(table.key)} = ?`, [
      ...updated.map((c) => row[c] ?? null),
      row[table.key],
    ]);
  }
}

/**
 * Brings `table` in line with `rows`: writes what is new or changed, counts what is
 * unchanged. Rows that vanished upstream are kept, as the original sync kept them.
 */
export async function syncRows(pool: Pool, table: BrnTable, rows: Row[]): Promise<SourceSummary> {
  const summary = emptySummary();
  const columns = writtenColumns(table);
  const connection = await pool.getConnection();
  try {
    await connection.beginTransaction();
    const stored = await readRows(connection, table);
    const changed: Row[] = [];
    for (const row of rows) {
      const problem = invalid(table, row);
      if (problem) {
        summary.failed += 1;
        summary.errors.push(`${table.name} ${row[table.key] ?? "(no key)"}: ${problem}`);
        continue;
      }
      const previous = stored.get(String(row[table.key]));
      const same = previous && columns.every((c) => normalized(table.columns[c].kind, previous[c]) === normalized(table.columns[c].kind, row[c]));
      if (same) summary.unchanged += 1;
      else changed.push(row);
    }
    const count = (row: Row) => (stored.has(String(row[table.key])) ? (summary.updated += 1) : (summary.created += 1));
    for (let i = 0; i < changed.length; i += BATCH_SIZE) {
      const batch = changed.slice(i, i + BATCH_SIZE);
      await connection.query("SAVEPOINT batch");
      try {
        await write(connection, table, columns, batch, stored);
        batch.forEach(count);
      } catch {
        // One bad row (a duplicate unique name, a value MySQL refuses) must not hold back the others.
        await connection.query("ROLLBACK TO SAVEPOINT batch");
        for (const row of batch) {
          await connection.query("SAVEPOINT one");
          try {
            await write(connection, table, columns, [row], stored);
            count(row);
          } catch (err) {
            await connection.query("ROLLBACK TO SAVEPOINT one");
            summary.failed += 1;
            summary.errors.push(`${table.name} ${row[table.key]}: ${(err as Error).message}`);
          }
        }
      }
    }
    await connection.commit();
    return summary;
  } catch (err) {
    await connection.rollback().catch(() => undefined);
    throw err;
  } finally {
    connection.release();
  }
}
