import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";

/** A table's key schema and TTL: shared by the component that creates it and the tests that stand it up in dynalite. */
export interface TableSchema {
  /** Hash key name; its type is string (S). */
  hashKey: string;
  /** Attribute that holds the expiry time in unix seconds, if items expire. */
  ttlAttribute?: string;
  /** Global secondary indexes, each on one string attribute, projecting all attributes. */
  indexes?: { name: string; hashKey: string }[];
}

export interface TableSettings {
  pointInTimeRecovery: boolean;
  deletionProtection: boolean;
}

/** An on-demand, encrypted DynamoDB table with the stage's recovery and protection settings. */
export function dynamoTable(
  name: string,
  schema: TableSchema,
  settings: TableSettings,
  opts: pulumi.CustomResourceOptions,
): aws.dynamodb.Table {
  const attributes = [schema.hashKey, ...(schema.indexes ?? []).map((i) => i.hashKey)];
  return new aws.dynamodb.Table(
    name,
    {
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
      pointInTimeRecovery: { enabled: settings.pointInTimeRecovery },
      deletionProtectionEnabled: settings.deletionProtection,
    },
    opts,
  );
}
