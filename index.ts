/**
 * The tributary program: reads the stack's config, creates the enabled apps and exports
 * their outputs. Nothing else happens here.
 */
import { AlertTopic } from "./components/monitoring/alert-topic";
import { loadConfig } from "./config";

const config = loadConfig();

const alerts = new AlertTopic("alerts", { email: config.alarms.email, existingTopicArn: config.alarms.topicArn });

export const stage = config.stage;
export const alertTopicArn = alerts.arn;
