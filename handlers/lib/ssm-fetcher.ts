/**
 * GetParameter with the SDK's SSM client, for the container-image function (skill-sync): an
 * image cannot take the Parameters and Secrets extension's layer, and its size does not
 * matter. Zip functions read through the extension (secrets.ts).
 */
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { ParameterFetcher } from "./secrets";

/** The SDK's default client unless one is given (AWS_ENDPOINT_URL_SSM points it at a stand-in). */
export function ssmFetcher(client?: SSMClient): ParameterFetcher {
  let ssm = client;
  return async (name, version) => {
    ssm ??= new SSMClient({});
    const selector = version ? `${name}:${version}` : name;
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: selector, WithDecryption: true }));
    if (Parameter?.Value === undefined) throw new Error(`SSM parameter ${selector} has no value`);
    return { value: Parameter.Value, version: Parameter.Version, lastModified: Parameter.LastModifiedDate };
  };
}
