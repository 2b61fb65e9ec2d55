import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { type Protection, statefulOptions } from "./stateful";

/** A table's key schema and TTL: shared by the component that creates it and the tests that stand it up in dynalite. */
export interface TableSchema {
  /** Hash key name; its type is string (S). */
  hashKey: string;
  /** Attribute that holds the expiry time in unix seconds, if items expire. */
  ttlAttribute?: string;
  /** Global secondary indexes, each on one string attribute, projecting all attributes. */
  indexes?: { name: string; hashKey: string }[];
}

/**
 * What an adopted table keeps as it is: indexes that only exist at creation and streams that
 * other services may read.
 */
export const ADOPTED_TABLE_KEEPS = ["localSecondaryIndexes", "streamEnabled", "streamViewType"];

/**
 * An on-demand, encrypted DynamoDB table with the stage's recovery and protection settings.
 * With `existingName`, the existing table of that name is adopted in place (its key schema
 * must be `schema`'s).
 */
export function dynamoTable(
  name: string,
  schema: TableSchema,
  protection: Protection,
  opts: pulumi.CustomResourceOptions,
  existingName?: string,
): aws.dynamodb.Table {
  const attributes = [schema.hashKey, ...(schema.indexes ?? []).map((i) => i.hashKey)];
  return new aws.dynamodb.Table(
    name,
    {
      name: existingName,
      billingMode: "PAY_PER_REQUEST",
      hashKey: schema.hashKey,
      attributes: [...new Set(attributes)].map((attribute) => ({ name: attribute, type: "S" })),
      globalSecondaryIndexes: schema.indexes?.map((index) => ({
        name: index.name,
        hashKey: index.hashKey,
        projectionType: "ALL",
      })),
      ttl: schema.ttlAttribute ? { attributeName: schema.ttlAttribute, enabled: true } : undefined,
      serverSideEncryption: { enabled: true },
      pointInTimeRecovery: { enabled: protection.pointInTimeRecovery },
      deletionProtectionEnabled: protection.deletionProtection,
    },
    statefulOptions(protection, opts, existingName ? { importId: existingName, keep: ADOPTED_TABLE_KEEPS } : undefined),
  );
}
