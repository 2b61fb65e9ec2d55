/**
 * alma-webhook: receives Alma webhook deliveries over HTTP and publishes each verified one
 * to the SNS topic of its event (see handlers/alma/webhook.ts).
 */
import { SNSClient } from "@aws-sdk/client-sns";
import { handleWebhook } from "../webhook";
import { TimeBudget } from "../../lib/budget";
import { ALMA_ENV, ALMA_EVENTS, topicArnEnv } from "../../lib/env-names";
import { lambdaHandler } from "../../lib/logger";
import { readSecret } from "../../lib/secrets";

const sns = new SNSClient({});
const topicArns = Object.fromEntries(ALMA_EVENTS.map((e) => [e, process.env[topicArnEnv(e)]]).filter(([, arn]) => arn));
if (Object.keys(topicArns).length === 0) {
  throw new Error(`no topic is configured: set ${ALMA_EVENTS.map(topicArnEnv).join(", ")}`);
}

/** Kept back from the deadline so that a publish that runs out of time fails cleanly, with a 5xx Alma retries. */
const BUDGET_MARGIN_MS = 1_000;

/** A delivery published with fields the cache will not store as sent is logged with the invocation. */
export const handler = lambdaHandler((event: unknown, context?: unknown) =>
  handleWebhook(event, { sns, secret: () => readSecret(ALMA_ENV.webhookSecret), topicArns }, TimeBudget.fromContext(context, BUDGET_MARGIN_MS)),
);
