/** The lesson-completed handler, built from its configuration (see index.ts). */
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { TimeBudget } from "../lib/budget";
import { ClientCredentialsToken } from "../lib/client-credentials";
import { requireEnv, wholeNumberEnv } from "../lib/env";
import { LESSONS_ENV } from "../lib/env-names";
import { parseEvent } from "../lib/events";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "../lib/http";
import { logger, maskEmail } from "../lib/logger";
import { readSecret } from "../lib/secrets";
import { completedLessons, markLessonsComplete, type SkippedLesson, userIdFrom, userUpdateEvent } from "./lesson-sync";

/** Time kept back from Lambda's deadline to report what was not done, and to park refused lessons. */
export const BUDGET_MARGIN_MS = 5_000;

export interface LessonHandlerConfig {
  tokenUrl: string;
  audience: string;
  clientId: string;
  clientSecret: () => Promise<string>;
  endpoint: string;
  /** Where events with refused lessons, or too many lessons, are kept; when absent, such events fail instead. */
  failedEventsQueueUrl?: string;
  retry?: RetryPolicy;
  /** Lessons of one event sent at once (1: in order, as the original). */
  concurrency?: number;
  /** More lessons than this in one update is a rewrite of the whole list, not a learner's progress: it is kept, not sent. */
  maxLessonsPerEvent?: number;
  /** Kept back from the invocation's deadline, in ms. */
  budgetMarginMs?: number;
}

export interface LessonHandlerResult {
  userId: string;
  lessons: number;
  completed: number;
  refused: { lessonId: string; status: number }[];
  /** Lesson elements without an id, reported and left out. */
  skipped: SkippedLesson[];
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

  /** Keeps the event in the failed-events queue with why, so that nothing is lost and it is not retried in vain. */
  const park = async (event: unknown, reason: string, details: Record<string, unknown>) => {
    if (!config.failedEventsQueueUrl) throw new Error(reason);
    sqs ??= new SQSClient({});
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: config.failedEventsQueueUrl,
        MessageBody: JSON.stringify({ reason, ...details, event }),
        MessageAttributes: { failure: { DataType: "String", StringValue: "refused" } },
      }),
    );
  };

  const handler = async (event: unknown, context?: unknown): Promise<LessonHandlerResult> => {
    const budget = TimeBudget.fromContext(context, config.budgetMarginMs ?? BUDGET_MARGIN_MS);
    const { detail } = parseEvent(userUpdateEvent, event, "Atlas trigger event");
    const { lessonIds, skipped } = completedLessons(detail.updateDescription.updatedFields);
    const userId = userIdFrom(detail.fullDocument.externalId);
    const email = detail.fullDocument.email;
    const log = { userId, email: maskEmail(email ?? undefined) };
    if (skipped.length > 0) logger.warn("lesson elements without an id were left out", { ...log, skipped });
    const outcome = { userId, lessons: lessonIds.length, completed: 0, refused: [], skipped };
    if (lessonIds.length === 0) {
      logger.info("update completed no lesson", log);
      return outcome;
    }
    const max = config.maxLessonsPerEvent ?? 100;
    if (lessonIds.length > max) {
      await park(event, `the update completes ${lessonIds.length} lessons at once, more than ${max}: a rewrite of the whole list, kept for a person to look at`, {
        lessons: lessonIds.length,
      });
      logger.warn("event with too many lessons kept in the failed-events queue", { ...log, lessons: lessonIds.length });
      return outcome;
    }

    const result = await markLessonsComplete(
      { userId, email, lessonIds },
      { endpoint: config.endpoint, token, retry: config.retry ?? DEFAULT_RETRY_POLICY, concurrency: config.concurrency ?? 1, budget },
    );
    logger.info("lessons sent", { ...log, lessons: lessonIds.length, completed: result.completed.length, refused: result.refused, failed: result.failed, notStarted: result.notStarted });

    if (result.failed.length > 0 || result.notStarted.length > 0) {
      const parts = [
        ...(result.failed.length > 0 ? [`failed after retries: ${result.failed.map((f) => `${f.lessonId} (${f.reason})`).join("; ")}`] : []),
        ...(result.notStarted.length > 0 ? [`not started before the time budget ran out: ${result.notStarted.join(", ")}`] : []),
      ];
      throw new Error(`lessons not marked complete for user ${userId}: ${parts.join("; ")}`);
    }
    if (result.refused.length > 0) {
      await park(event, "lessons refused by the Learning Paths API", { refused: result.refused });
      logger.warn("event kept in the failed-events queue", { ...log, refused: result.refused });
    }
    return { ...outcome, completed: result.completed.length, refused: result.refused };
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
    concurrency: wholeNumberEnv(LESSONS_ENV.concurrency, 1, env),
    maxLessonsPerEvent: wholeNumberEnv(LESSONS_ENV.maxLessonsPerEvent, 100, env),
  };
}
