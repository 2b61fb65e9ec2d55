/**
 * Secrets reach a deployed function as the name of an SSM SecureString parameter
 * (`<NAME>_PARAM`), read once per container. Local runs may pass the value itself (`<NAME>`).
 */
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";

let ssm: SSMClient | undefined;
const cache = new Map<string, Promise<string>>();

async function readParameter(name: string): Promise<string> {
  ssm ??= new SSMClient({});
  const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  if (Parameter?.Value === undefined) throw new Error(`SSM parameter ${name} has no value`);
  return Parameter.Value;
}

/**
 * The secret `name`: from the SSM parameter named by `<name>_PARAM` when that is set, else
 * from `<name>` itself. A failed read is not cached, so the next invocation tries again.
 */
export function readSecret(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const parameter = env[`${name}_PARAM`];
  if (parameter) {
    let value = cache.get(parameter);
    if (!value) {
      value = readParameter(parameter);
      cache.set(parameter, value);
      value.catch(() => cache.delete(parameter));
    }
    return value;
  }
  const inline = env[name];
  if (inline) return Promise.resolve(inline);
  return Promise.reject(new Error(`secret ${name} is not configured: set ${name}_PARAM (an SSM parameter name) or ${name}`));
}
