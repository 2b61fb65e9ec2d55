/**
 * SQS's SendMessage over AWS's JSON protocol without an SDK client (handlers/lib/aws-json.ts),
 * sent as SQSClient sends it: to the queue URL's host unless an endpoint is fixed, and the
 * answer's MD5 of the body checked.
 */
import { createHash } from "node:crypto";
import { SQSServiceException } from "@aws-sdk/client-sqs";
// The client's endpoint rules and the parameters its commands give them, without the client.
import { commonParams } from "@aws-sdk/client-sqs/dist-es/endpoint/EndpointParameters";
import { defaultEndpointResolver } from "@aws-sdk/client-sqs/dist-es/endpoint/endpointResolver";
import { type AwsClientConfig, AwsJsonClient, type JsonService } from "./aws-json";

export const SQS: JsonService = {
  signingName: "sqs",
  serviceId: "SQS",
  targetPrefix: "AmazonSQS.",
  endpointProvider: defaultEndpointResolver,
  endpointParameters: commonParams,
  ServiceException: SQSServiceException,
};

/** SendMessage's input, in the JSON SQSClient sends: attributes as `{ DataType, StringValue }`. */
export interface SendMessageInput {
  QueueUrl: string;
  MessageBody: string;
  MessageAttributes?: Record<string, { DataType: string; StringValue?: string }>;
}

export class SqsSender extends AwsJsonClient {
  constructor(config: AwsClientConfig = {}) {
    super(SQS, config);
  }

  /** Sends one message; fails as SQSClient does when SQS's MD5 of the body is not the body's. */
  async sendMessage(input: SendMessageInput): Promise<{ MessageId: string }> {
    // As SQSClient's queue-URL middleware: the queue URL's host, unless the client was given an endpoint.
    const origin = this.config.endpoint === undefined ? new URL(new URL(input.QueueUrl).origin) : undefined;
    const output = await this.call<{ MessageId: string; MD5OfMessageBody?: string }>("SendMessage", input, origin);
    const md5 = createHash("md5").update(input.MessageBody).digest("hex");
    if (output.MD5OfMessageBody !== md5) {
      throw Object.assign(new Error(`SQS answered MD5OfMessageBody ${output.MD5OfMessageBody} for a body whose MD5 is ${md5}`), {
        name: "InvalidChecksumError",
      });
    }
    return output;
  }
}
