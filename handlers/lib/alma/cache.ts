/**
 * The Alma cache in DynamoDB: loans, requests, and each user's `loan_ids` and `request_ids`.
 *
 * The id lists are DynamoDB string sets (SS). `ADD` and `DELETE` on a set are applied
 * atomically by DynamoDB, commute with each other and are idempotent, so concurrent events
 * for one user never lose an id and a redelivered event changes nothing. (The old code read
 * the user and wrote it back, which loses ids under concurrency; a list with `list_append`
 * would duplicate ids on redelivery.)
 */
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { ALMA_ENV } from "../env-names";
import { requireEnv } from "../env";

export interface AlmaCacheClients {
  documents: DynamoDBDocumentClient;
  sqs: SQSClient;
  tables: { users: string; loans: string; requests: string };
  usersQueueUrl: string;
  /** The clock, in ms. */
  now: () => number;
}

/** Clients and names from the function's environment; a missing variable fails at cold start. */
export function clientsFromEnv(env: NodeJS.ProcessEnv = process.env): AlmaCacheClients {
  return {
    documents: DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }),
    sqs: new SQSClient({}),
    tables: {
      users: requireEnv(ALMA_ENV.usersTable, env),
      loans: requireEnv(ALMA_ENV.loansTable, env),
      requests: requireEnv(ALMA_ENV.requestsTable, env),
    },
    usersQueueUrl: requireEnv(ALMA_ENV.usersQueueUrl, env),
    now: Date.now,
  };
}

export type IdList = "loan_ids" | "request_ids";

/** What happened to the user's record. */
export type UserOutcome = "linked" | "queued";

export async function putItem(clients: AlmaCacheClients, table: string, item: Record<string, unknown>): Promise<void> {
  await clients.documents.send(new PutCommand({ TableName: table, Item: item }));
}

export async function deleteItem(clients: AlmaCacheClients, table: string, key: Record<string, string>): Promise<void> {
  await clients.documents.send(new DeleteCommand({ TableName: table, Key: key }));
}

/**
 * Adds `id` to (or removes it from) the user's list in one conditional update, which holds
 * only while the user is cached and its `expiry_date` has not passed. Otherwise the user is
 * queued for the bulk-update service, which loads it from Alma.
 */
export async function updateUserList(
  clients: AlmaCacheClients,
  userId: string,
  list: IdList,
  operation: "ADD" | "DELETE",
  id: string,
): Promise<UserOutcome> {
  try {
    await clients.documents.send(
      new UpdateCommand({
        TableName: clients.tables.users,
        Key: { primary_id: userId },
        UpdateExpression: `${operation} #list :ids`,
        ConditionExpression: "attribute_exists(primary_id) AND expiry_date > :now",
        ExpressionAttributeNames: { "#list": list },
        ExpressionAttributeValues: { ":ids": new Set([id]), ":now": Math.floor(clients.now() / 1000) },
      }),
    );
    return "linked";
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    await queueUser(clients, userId);
    return "queued";
  }
}

/** Asks the bulk-update service to load a user the cache does not know (or knows too old). */
export async function queueUser(clients: AlmaCacheClients, userId: string): Promise<void> {
  await clients.sqs.send(new SendMessageCommand({ QueueUrl: clients.usersQueueUrl, MessageBody: userId }));
}
