/** How AWS SDK clients talk to the local stand-ins (dynalite, s3rver, the fake SQS, SNS and SSM). */
import { ConfiguredRetryStrategy } from "@smithy/core/retry";

export const LOCAL_REGION = "eu-west-2";
/** Any key pair: the stand-ins do not check signatures. */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

/**
 * Client settings for a stand-in at `endpoint`. Retries keep the SDK's standard count (3
 * attempts) but wait 10 ms between them instead of the throttling backoff (500 ms and up),
 * so that tests of throttling are about what happens, not about waiting.
 */
export function localClientConfig(endpoint: string) {
  return { endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, retryStrategy: new ConfiguredRetryStrategy(3, () => 10) };
}

/** Environment that points the AWS SDK at local servers with dummy credentials. */
export function localAwsEnv(endpoints: Record<string, string>): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_REGION: LOCAL_REGION,
    ...endpoints,
  };
}

/** Sets environment variables for the duration of a suite; returns a function that restores them. */
export function setEnv(values: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
