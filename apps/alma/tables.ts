import type { TableSchema } from "../../components/storage/table";

/**
 * The Alma cache tables. The key and TTL names are read by other library services: they
 * must stay as they are.
 */
export const ALMA_TABLES = {
  users: { hashKey: "primary_id", ttlAttribute: "expiry_date" },
  loans: { hashKey: "loan_id", ttlAttribute: "expiry_date" },
  requests: { hashKey: "request_id", ttlAttribute: "record_expiry_date" },
} as const satisfies Record<string, TableSchema>;

/**
 * This stack's own table, read by no other service: a tombstone per returned loan and
 * closed request (`loan:<id>`, `request:<id>`), expiring after 35 days (handlers/alma/cache.ts).
 */
export const TOMBSTONES_TABLE = { hashKey: "id", ttlAttribute: "expires_at" } as const satisfies TableSchema;
