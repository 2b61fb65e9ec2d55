import type { TableSchema } from "../storage/table";

/**
 * The Alma cache tables. The key and TTL names are read by other library services: they
 * must stay as they are.
 */
export const ALMA_TABLES = {
  users: { hashKey: "primary_id", ttlAttribute: "expiry_date" },
  loans: { hashKey: "loan_id", ttlAttribute: "expiry_date" },
  requests: { hashKey: "request_id", ttlAttribute: "record_expiry_date" },
} as const satisfies Record<string, TableSchema>;
