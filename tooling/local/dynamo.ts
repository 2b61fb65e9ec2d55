/** dynalite, a DynamoDB implementation on npm, on 127.0.0.1, with tables made from the components' key schemas. */
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import type { TableSchema } from "../../components/storage/table";
import { localClientConfig } from "./aws";

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBClient;
  documents: DynamoDBDocumentClient;
  createTable(name: string, schema: TableSchema): Promise<void>;
  scan(table: string): Promise<Record<string, any>[]>;
  close(): Promise<void>;
}

export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient(localClientConfig(endpoint));
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    endpoint,
    client,
    documents,
    async createTable(name, schema) {
      const attributes = [schema.hashKey, ...(schema.indexes ?? []).map((i) => i.hashKey)];
      await client.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [...new Set(attributes)].map((a) => ({ AttributeName: a, AttributeType: "S" })),
          KeySchema: [{ AttributeName: schema.hashKey, KeyType: "HASH" }],
          GlobalSecondaryIndexes: schema.indexes?.map((i) => ({
            IndexName: i.name,
            KeySchema: [{ AttributeName: i.hashKey, KeyType: "HASH" }],
            Projection: { ProjectionType: "ALL" },
          })),
        }),
      );
      // dynalite makes the table ACTIVE on a timer: a write that arrives first finds no table.
      while ((await client.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus !== "ACTIVE")
        await new Promise((r) => setTimeout(r, 5));
    },
    scan: (table) => scanAll(documents, table),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Every item of a table, following LastEvaluatedKey from page to page. */
async function scanAll(documents: DynamoDBDocumentClient, table: string): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  let start: Record<string, any> | undefined;
  do {
    const page = await documents.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
