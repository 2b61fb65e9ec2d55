/**
 * alma-webhook: receives Alma webhook deliveries over HTTP and publishes each verified one
 * to the SNS topic of its event (see handlers/lib/alma/webhook.ts).
 */
import { SNSClient } from "@aws-sdk/client-sns";
import { handleWebhook } from "../lib/alma/webhook";
import { ALMA_ENV, ALMA_EVENTS, topicArnEnv } from "../lib/env-names";
import { readSecret } from "../lib/secrets";

const sns = new SNSClient({});
const topicArns = Object.fromEntries(ALMA_EVENTS.map((e) => [e, process.env[topicArnEnv(e)]]).filter(([, arn]) => arn));
if (Object.keys(topicArns).length === 0) {
  throw new Error(`no topic is configured: set ${ALMA_EVENTS.map(topicArnEnv).join(", ")}`);
}

export const handler = (event: unknown) =>
  handleWebhook(event, { sns, secret: () => readSecret(ALMA_ENV.webhookSecret), topicArns });
