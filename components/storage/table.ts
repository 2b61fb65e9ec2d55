import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { applies, type Hardening, keptUnless } from "../adoption";
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
 * What an adopted table keeps as it is: its attribute definitions and indexes (other services
 * may query indexes the program does not declare), and streams that other services may read.
 */
export const ADOPTED_TABLE_KEEPS = ["attributes", "globalSecondaryIndexes", "localSecondaryIndexes", "streamEnabled", "streamViewType"];

/** The capacity of a table the stack creates with provisioned billing (when onDemandCapacity is off). */
export const PROVISIONED_CAPACITY = { readCapacity: 5, writeCapacity: 5 };

/** What every stateful building block takes besides its own settings. */
export interface StatefulArgs {
  /** The stage's protection: Pulumi's `protect`, retention, and the defaults of recovery and deletion protection. */
  protection: Protection;
  /** The app's improvements (see components/adoption.ts). */
  hardening: Hardening;
  /** The existing resource's name, to adopt it in place instead of creating one. */
  existingName?: string;
}

/**
 * A DynamoDB table with the app's improvements: on-demand, encrypted, with the stage's
 * recovery and deletion protection when the stack creates it. With `existingName`, the
 * existing table is adopted in place (its key schema must be `schema`'s) and keeps every
 * setting no improvement applies to.
 */
export function dynamoTable(name: string, schema: TableSchema, args: StatefulArgs, opts: pulumi.CustomResourceOptions): aws.dynamodb.Table {
  const { hardening, protection } = args;
  const adopted = args.existingName !== undefined;
  const onDemand = applies(hardening, "onDemandCapacity", adopted);
  const encrypted = applies(hardening, "encryption", adopted);
  const recovery = applies(hardening, "pointInTimeRecovery", adopted, protection.pointInTimeRecovery);
  const deletionProtection = applies(hardening, "deletionProtection", adopted, protection.deletionProtection);
  // An adopted table without an improvement declares nothing of it: the setting is kept.
  const unlessKept = <T>(applied: boolean, value: T): T | undefined => (adopted && !applied ? undefined : value);
  const attributes = [schema.hashKey, ...(schema.indexes ?? []).map((i) => i.hashKey)];
  return new aws.dynamodb.Table(
    name,
    {
      name: args.existingName,
      hashKey: schema.hashKey,
      attributes: [...new Set(attributes)].map((attribute) => ({ name: attribute, type: "S" })),
      globalSecondaryIndexes: schema.indexes?.map((index) => ({ name: index.name, hashKey: index.hashKey, projectionType: "ALL" })),
      ttl: schema.ttlAttribute ? { attributeName: schema.ttlAttribute, enabled: true } : undefined,
      billingMode: unlessKept(onDemand, onDemand ? "PAY_PER_REQUEST" : "PROVISIONED"),
      ...(onDemand || adopted ? {} : PROVISIONED_CAPACITY),
      serverSideEncryption: unlessKept(encrypted, { enabled: encrypted }),
      pointInTimeRecovery: unlessKept(recovery, { enabled: recovery }),
      deletionProtectionEnabled: unlessKept(deletionProtection, deletionProtection),
    },
    statefulOptions(
      protection,
      opts,
      adopted
        ? {
            importId: args.existingName!,
            keep: [
              ...ADOPTED_TABLE_KEEPS,
              ...keptUnless(onDemand, adopted, ["billingMode", "readCapacity", "writeCapacity"]),
              ...keptUnless(encrypted, adopted, ["serverSideEncryption"]),
              ...keptUnless(recovery, adopted, ["pointInTimeRecovery"]),
              ...keptUnless(deletionProtection, adopted, ["deletionProtectionEnabled"]),
            ],
          }
        : undefined,
    ),
  );
}
