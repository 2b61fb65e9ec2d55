/**
 * DynamoDB over AWS's JSON protocol without an SDK client (handlers/lib/aws-json.ts): the
 * client's own endpoint rules, retry defaults and exception, and `documents()`, lib-dynamodb's
 * translation (JS values in, JS values out) for the few operations the handlers use.
 */
import { type AttributeValue, DynamoDBServiceException } from "@aws-sdk/client-dynamodb";
// The client's endpoint rules and the parameters its commands give them, without the client.
import { commonParams } from "@aws-sdk/client-dynamodb/dist-es/endpoint/EndpointParameters";
import { defaultEndpointResolver } from "@aws-sdk/client-dynamodb/dist-es/endpoint/endpointResolver";
import type { DeleteCommandInput, GetCommandInput, PutCommandInput, UpdateCommandInput } from "@aws-sdk/lib-dynamodb";
import { marshall, type marshallOptions, unmarshall, type unmarshallOptions } from "@aws-sdk/util-dynamodb";
import { Retry } from "@smithy/core/retry";
import { type AwsClientConfig, AwsJsonClient, type Json, type JsonService } from "./aws-json";

export const DYNAMODB: JsonService = {
  signingName: "dynamodb",
  serviceId: "DynamoDB",
  targetPrefix: "DynamoDB_20120810.",
  endpointProvider: defaultEndpointResolver,
  endpointParameters: commonParams,
  ServiceException: DynamoDBServiceException,
  // As DynamoDBClient passes them to resolveRetryConfig.
  retryDefaults: { defaultBaseDelay: Retry.v2026 ? 25 : undefined, defaultMaxAttempts: Retry.v2026 ? 4 : undefined },
};

/** DynamoDB's operations in DynamoDB JSON, and their JS-value translation. */
export class DynamoDBJson extends AwsJsonClient {
  constructor(config: AwsClientConfig = {}) {
    super(DYNAMODB, config);
  }

  /** The JS-value translation of lib-dynamodb's DocumentClient, for the operations the handlers use. */
  documents(options: { marshall?: marshallOptions; unmarshall?: unmarshallOptions } = {}): DynamoDBDocuments {
    const toAttributes = (values: Json | undefined) => (values === undefined ? undefined : marshall(values, options.marshall));
    const toItem = (item: Record<string, AttributeValue> | undefined) =>
      item === undefined ? undefined : unmarshall(item, options.unmarshall);
    const expressions = (input: { ExpressionAttributeValues?: Json }) =>
      input.ExpressionAttributeValues === undefined ? {} : { ExpressionAttributeValues: toAttributes(input.ExpressionAttributeValues) };
    return {
      get: async (input) =>
        toItem((await this.call<{ Item?: Record<string, AttributeValue> }>("GetItem", { ...input, Key: toAttributes(input.Key) })).Item),
      put: async (input) => void (await this.call("PutItem", { ...input, Item: toAttributes(input.Item), ...expressions(input) })),
      update: async (input) => void (await this.call("UpdateItem", { ...input, Key: toAttributes(input.Key), ...expressions(input) })),
      delete: async (input) => void (await this.call("DeleteItem", { ...input, Key: toAttributes(input.Key), ...expressions(input) })),
    };
  }
}

/** The DocumentClient operations the handlers use: JS values in, JS values out. */
export interface DynamoDBDocuments {
  /** The item, or undefined when there is none. */
  get(input: GetCommandInput): Promise<Record<string, any> | undefined>;
  put(input: PutCommandInput): Promise<void>;
  update(input: UpdateCommandInput): Promise<void>;
  delete(input: DeleteCommandInput): Promise<void>;
}

/** The lib-dynamodb translation, as the alma cache functions use it (undefined attributes left out). */
export function documentsOf(config: AwsClientConfig = {}): DynamoDBDocuments {
  return new DynamoDBJson(config).documents({ marshall: { removeUndefinedValues: true } });
}
