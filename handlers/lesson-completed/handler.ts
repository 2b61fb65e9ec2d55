/** The lesson-completed handler, built from its configuration (see index.ts). */
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { ClientCredentialsToken } from "../lib/client-credentials";
import { LESSONS_ENV } from "../lib/env-names";
import { parseEvent } from "../lib/events";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "../lib/http";
import { logger, maskEmail } from "../lib/logger";
import { requireEnv } from "../lib/env";
import { readSecret } from "../lib/secrets";
import { completedLessonIds, markLessonsComplete, userIdFrom, userUpdateEvent } from "./lesson-sync";

export interface LessonHandlerConfig {
  tokenUrl: string;
  audience: string;
  clientId: string;
  clientSecret: () => Promise<string>;
  endpoint: string;
  /** Where events with refused lessons are kept; when absent, such events fail instead. */
  failedEventsQueueUrl?: string;
  retry?: RetryPolicy;
  concurrency?: number;
}

export interface LessonHandlerResult {
  userId: string;
  lessons: number;
  completed: number;
  refused: { lessonId: string; status: number }[];
}

/** Builds the handler; what it holds (the token, the SQS client) lives as long as the container. */
export function createHandler(config: LessonHandlerConfig) {
  const token = new ClientCredentialsToken({
    tokenUrl: config.tokenUrl,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    audience: config.audience,
    retry: config.retry,
  });
  let sqs: SQSClient | undefined;

  const handler = async (event: unknown): Promise<LessonHandlerResult> => {
    const { detail } = parseEvent(userUpdateEvent, event, "Atlas trigger event");
    const lessonIds = completedLessonIds(detail.updateDescription.updatedFields);
    const userId = userIdFrom(detail.fullDocument.externalId);
    const email = detail.fullDocument.email;
    const log = { userId, email: maskEmail(email) };
    if (lessonIds.length === 0) {
      logger.info("update completed no lesson", log);
      return { userId, lessons: 0, completed: 0, refused: [] };
    }

    const result = await markLessonsComplete(
      { userId, email, lessonIds },
      { endpoint: config.endpoint, token, retry: config.retry ?? DEFAULT_RETRY_POLICY, concurrency: config.concurrency ?? 4 },
    );
    logger.info("lessons sent", { ...log, lessons: lessonIds.length, completed: result.completed.length, refused: result.refused, failed: result.failed });

    if (result.failed.length > 0) {
      throw new Error(
        `lessons not marked complete after retries for user ${userId}: ${result.failed.map((f) => `${f.lessonId} (${f.reason})`).join("; ")}`,
      );
    }
    if (result.refused.length > 0) {
      if (!config.failedEventsQueueUrl) {
        throw new Error(`the Learning Paths API refused lessons ${result.refused.map((r) => `${r.lessonId} (HTTP ${r.status})`).join(", ")}`);
      }
      sqs ??= new SQSClient({});
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: config.failedEventsQueueUrl,
          MessageBody: JSON.stringify({ reason: "lessons refused by the Learning Paths API", refused: result.refused, event }),
          MessageAttributes: { failure: { DataType: "String", StringValue: "refused" } },
        }),
      );
      logger.warn("event kept in the failed-events queue", { ...log, refused: result.refused });
    }
    return { userId, lessons: lessonIds.length, completed: result.completed.length, refused: result.refused };
  };
  return Object.assign(handler, { token });
}

/** Configuration from the function's environment; a missing variable fails at cold start. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): LessonHandlerConfig {
  return {
    tokenUrl: requireEnv(LESSONS_ENV.auth0Url, env),
    audience: requireEnv(LESSONS_ENV.auth0Audience, env),
    clientId: requireEnv(LESSONS_ENV.auth0ClientId, env),
    clientSecret: () => readSecret(LESSONS_ENV.auth0ClientSecret, env),
    endpoint: requireEnv(LESSONS_ENV.learningPathsApiEndpoint, env),
    failedEventsQueueUrl: env[LESSONS_ENV.failedEventsQueueUrl] || undefined,
  };
}

