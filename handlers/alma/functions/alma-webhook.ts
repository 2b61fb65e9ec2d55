/**
 * alma-webhook: receives Alma webhook deliveries over HTTP and publishes each verified one
 * to the SNS topic of its event (see handlers/alma/webhook.ts).
 */
import { SNSClient } from "@aws-sdk/client-sns";
import { handleWebhook, signingKeys } from "../webhook";
import { TimeBudget } from "../../lib/budget";
import { wholeNumberEnv } from "../../lib/env";
import { ALMA_ENV, ALMA_EVENTS, DEFAULT_WEBHOOK_SECRET_ROTATION_WINDOW_HOURS, topicArnEnv } from "../../lib/env-names";
import { lambdaHandler } from "../../lib/logger";
import { SecretReader } from "../../lib/secrets";

const sns = new SNSClient({});
const topicArns = Object.fromEntries(ALMA_EVENTS.map((e) => [e, process.env[topicArnEnv(e)]]).filter(([, arn]) => arn));
if (Object.keys(topicArns).length === 0) {
  throw new Error(`no topic is configured: set ${ALMA_EVENTS.map(topicArnEnv).join(", ")}`);
}
const rotationWindowHours = wholeNumberEnv(ALMA_ENV.webhookSecretRotationWindowHours, DEFAULT_WEBHOOK_SECRET_ROTATION_WINDOW_HOURS);
const keys = signingKeys(new SecretReader(), ALMA_ENV.webhookSecret, rotationWindowHours * 3600 * 1000);

/** Kept back from the deadline so that a publish that runs out of time fails cleanly, with a 5xx Alma retries. */
const BUDGET_MARGIN_MS = 1_000;

/** A delivery published with fields the cache will not store as sent is logged with the invocation. */
export const handler = lambdaHandler((event: unknown, context?: unknown) =>
  handleWebhook(event, { sns, keys, topicArns }, TimeBudget.fromContext(context, BUDGET_MARGIN_MS)),
);
