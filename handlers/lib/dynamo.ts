/** DynamoDB helpers shared by handlers (and by the tests that inspect their tables). */
import { type DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";

/** Every item of a table, following LastEvaluatedKey from page to page. */
export async function scanAll(documents: DynamoDBDocumentClient, table: string): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  let start: Record<string, any> | undefined;
  do {
    const page = await documents.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
