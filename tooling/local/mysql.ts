/**
 * A throwaway BRN database on a real MySQL-compatible server (MariaDB on 127.0.0.1:3306 on
 * this machine, a `mysql:8` container in the GitHub workflow), with the Skill App's schema
 * as its SQLAlchemy models create it: the three tables the sync writes, and the
 * `assessment_tracker` table their foreign keys point at.
 */
import { randomBytes } from "node:crypto";
import { createConnection } from "mysql2/promise";
import { ASSERTIONS, ASSESSMENTS, BADGES, type BrnTable, type Column } from "../../handlers/skills/brn-schema";
import { brnPool } from "../../handlers/skills/sync";

/** The server, from MYSQL_URL; this machine's MariaDB by default (root, no password). */
export const MYSQL_URL = process.env.MYSQL_URL || "mysql://root@127.0.0.1:3306/test";

/** The SQL type SQLAlchemy 1.4 gives each column kind on MySQL. */
function sqlType(column: Column): string {
  switch (column.kind) {
    case "int":
      return "INT";
    case "varchar":
      return `VARCHAR(${column.length})`;
    case "text":
      return "TEXT";
    case "bool":
      return "BOOL";
    case "datetime":
      return "DATETIME";
  }
}

/** `CREATE TABLE` for one of the sync's tables: every column nullable but the key, as the models have it. */
export function createTableSql(table: BrnTable): string {
  const key = table.columns[table.key];
  const lines = Object.entries(table.columns).map(([name, column]) =>
    name === table.key
      ? `\`${name}\` ${sqlType(column)} NOT NULL${key.kind === "int" ? " AUTO_INCREMENT" : ""}`
      : `\`${name}\` ${sqlType(column)} NULL`,
  );
  lines.push(`PRIMARY KEY (\`${table.key}\`)`, `UNIQUE INDEX \`ix_${table.name}_${table.key}\` (\`${table.key}\`)`);
  for (const name of table.unique ?? []) lines.push(`UNIQUE (\`${name}\`)`);
  for (const [name, target] of Object.entries(table.references ?? {})) {
    const [, targetTable, targetColumn] = /^(\w+)\((\w+)\)$/.exec(target)!;
    lines.push(
      `CONSTRAINT \`fk_${table.name}_${targetTable}\` FOREIGN KEY (\`${name}\`) REFERENCES \`${targetTable}\` (\`${targetColumn}\`)`,
    );
  }
  return `CREATE TABLE \`${table.name}\` (\n  ${lines.join(",\n  ")}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
}

/** The crud service's tracker, which assertions point at (columns as its model has them). */
const ASSESSMENT_TRACKER_SQL = `CREATE TABLE \`assessment_tracker\` (
  \`id\` INT NOT NULL AUTO_INCREMENT,
  \`user_id\` INT NULL,
  \`assessment_id\` INT NULL,
  \`status\` VARCHAR(250) NULL,
  \`last_updated\` DATETIME NULL,
  \`latest_commit\` VARCHAR(250) NOT NULL,
  \`reviewer_id\` INT NULL,
  \`repo_owner\` VARCHAR(250) NULL,
  \`repo_name\` VARCHAR(250) NULL,
  \`pr_number\` INT NULL,
  \`log\` JSON NOT NULL,
  PRIMARY KEY (\`id\`),
  UNIQUE (\`latest_commit\`),
  CONSTRAINT \`fk_assessment_tracker_assessments\` FOREIGN KEY (\`assessment_id\`) REFERENCES \`assessments\` (\`id\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

/** The statements that create the BRN schema, in dependency order. */
export const BRN_SCHEMA_SQL = [createTableSql(ASSESSMENTS), ASSESSMENT_TRACKER_SQL, createTableSql(BADGES), createTableSql(ASSERTIONS)];

export interface BrnDatabase {
  /** The URL the sync takes (BRN_DATABASE_URL). */
  url: string;
  name: string;
  /** Runs a query and returns its rows. */
  query<T = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** Creates a database of its own, with the BRN schema, on the server at MYSQL_URL. */
export async function createBrnDatabase(prefix = "tributary_brn"): Promise<BrnDatabase> {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = await createConnection({ uri: MYSQL_URL, connectTimeout: 5_000 });
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  } finally {
    await admin.end();
  }
  const server = new URL(MYSQL_URL);
  server.pathname = `/${name}`;
  const url = server.toString();
  const pool = brnPool(url);
  for (const sql of BRN_SCHEMA_SQL) await pool.query(sql);
  return {
    url,
    name,
    query: async <T>(sql: string, values?: unknown[]) => (await pool.query(sql, values))[0] as T[],
    async drop() {
      await pool.query(`DROP DATABASE \`${name}\``);
      await pool.end();
    },
  };
}
