/**
 * GetParameter over AWS's JSON protocol (handlers/lib/aws-json.ts), for the container-image
 * function (skill-sync): an image cannot take the Parameters and Secrets extension's layer.
 * Zip functions read through the extension (secrets.ts). Without the SDK's SSM client, the
 * image's bundle is about 95 KB and 3 MB of memory lighter.
 */
import { SSMServiceException } from "@aws-sdk/client-ssm";
// The client's endpoint rules and the parameters its commands give them, without the client.
import { commonParams } from "@aws-sdk/client-ssm/dist-es/endpoint/EndpointParameters";
import { defaultEndpointResolver } from "@aws-sdk/client-ssm/dist-es/endpoint/endpointResolver";
import { type AwsClientConfig, AwsJsonClient, type JsonService } from "./aws-json";
import type { ParameterFetcher } from "./secrets";

export const SSM: JsonService = {
  signingName: "ssm",
  serviceId: "SSM",
  targetPrefix: "AmazonSSM.",
  jsonVersion: "1.1",
  endpointProvider: defaultEndpointResolver,
  endpointParameters: commonParams,
  ServiceException: SSMServiceException,
};

/** A parameter as GetParameter answers it: its LastModifiedDate in epoch seconds. */
interface Parameter {
  Value?: string;
  Version?: number;
  LastModifiedDate?: number;
}

/** Reads parameters (decrypted), by name and optionally version, as SSMClient's GetParameterCommand would. */
export function ssmFetcher(config: AwsClientConfig = {}): ParameterFetcher {
  const ssm = new AwsJsonClient(SSM, config);
  return async (name, version) => {
    const selector = version ? `${name}:${version}` : name;
    const { Parameter } = await ssm.call<{ Parameter?: Parameter }>("GetParameter", { Name: selector, WithDecryption: true });
    if (Parameter?.Value === undefined) throw new Error(`SSM parameter ${selector} has no value`);
    const modified = Parameter.LastModifiedDate;
    return {
      value: Parameter.Value,
      version: Parameter.Version,
      lastModified: modified === undefined ? undefined : new Date(Math.round(modified * 1000)),
    };
  };
}
