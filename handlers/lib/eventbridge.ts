/**
 * EventBridge's PutEvents over AWS's JSON protocol (handlers/lib/aws-json.ts), without the
 * SDK's client: iota's only AWS call. Regional endpoints only (a global endpoint's
 * `EndpointId` would need SigV4a, which nothing here uses).
 */
import { EventBridgeServiceException } from "@aws-sdk/client-eventbridge";
// The client's endpoint rules and the parameters its commands give them, without the client.
import { commonParams } from "@aws-sdk/client-eventbridge/dist-es/endpoint/EndpointParameters";
import { defaultEndpointResolver } from "@aws-sdk/client-eventbridge/dist-es/endpoint/endpointResolver";
import { type AwsClientConfig, AwsJsonClient, type JsonService } from "./aws-json";

export const EVENTBRIDGE: JsonService = {
  signingName: "events",
  serviceId: "EventBridge",
  targetPrefix: "AWSEvents.",
  jsonVersion: "1.1",
  endpointProvider: defaultEndpointResolver,
  endpointParameters: commonParams,
  ServiceException: EventBridgeServiceException,
};

/** One PutEvents entry, as the API takes it. */
export interface PutEventsRequestEntry {
  EventBusName?: string;
  Source?: string;
  DetailType?: string;
  Detail?: string;
}

/** PutEvents' answer: one result per entry, in order, with an ErrorCode where it was refused. */
export interface PutEventsResponse {
  FailedEntryCount?: number;
  Entries?: { EventId?: string; ErrorCode?: string; ErrorMessage?: string }[];
}

export class EventBridgeSender extends AwsJsonClient {
  constructor(config: AwsClientConfig = {}) {
    super(EVENTBRIDGE, config);
  }

  putEvents(entries: PutEventsRequestEntry[]): Promise<PutEventsResponse> {
    return this.call<PutEventsResponse>("PutEvents", { Entries: entries });
  }
}
