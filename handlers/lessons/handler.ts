/** The lesson-completed handler, built from its configuration (see index.ts). */
import { TimeBudget } from "../lib/budget";
import { ClientCredentialsToken } from "../lib/client-credentials";
import { requireEnv, wholeNumberEnv } from "../lib/env";
import { LESSONS_ENV, TOKEN_REQUEST_FORMATS, type TokenRequestFormat } from "../lib/env-names";
import { parseEvent } from "../lib/events";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "../lib/http";
import { logger, maskEmail, maskEmails } from "../lib/logger";
import { SecretReader } from "../lib/secrets";
import { SqsSender } from "../lib/sqs-send";
import { completedLessons, markLessonsComplete, type SkippedLesson, userIdFrom, userUpdateEvent } from "./lesson-sync";
import { buildResumeRecord, isResumeRecord, RESUME_KIND, type ResumeRecord, resumeRecord } from "./resume-record";

/** Time kept back from Lambda's deadline to keep what was not done as a resumable record. */
export const BUDGET_MARGIN_MS = 5_000;

export interface LessonHandlerConfig {
  tokenUrl: string;
  audience: string;
  clientId: string;
  clientSecret: () => Promise<string>;
  /** The client secret read again after Auth0 refused it (401), so that a rotated secret needs no cold start. */
  refreshClientSecret?: () => Promise<string>;
  /** How the token request's body is encoded (default `json`). */
  tokenRequestFormat?: TokenRequestFormat;
  endpoint: string;
  /** Where resumable records are kept; when absent, an event that needs one fails instead. */
  failedEventsQueueUrl?: string;
  retry?: RetryPolicy;
  /** Lessons of one event sent at once (1: in order; the API's completeLesson races for lessons of one module). */
  concurrency?: number;
  /** Kept back from the invocation's deadline, in ms. */
  budgetMarginMs?: number;
}

export interface LessonHandlerResult {
  userId: string;
  /** Lessons this invocation had to send: the update's, or a replayed record's `remaining`. */
  lessons: number;
  completed: number;
  refused: { lessonId: string; status: number }[];
  /** Lesson elements without an id, reported and left out. */
  skipped: SkippedLesson[];
  /** Lessons not sent, kept in the failed-events queue as a resumable record, in order. */
  parked: string[];
}

/** What one invocation has to send: from an Atlas trigger event, or from a resumable record (a replay). */
function readInput(event: unknown) {
  if (isResumeRecord(event)) {
    const record = parseEvent(resumeRecord, event, "lessons-resume record");
    // The record's event as it was kept (parsing drops fields the handler does not read).
    return {
      detail: record.event.detail,
      source: (event as ResumeRecord).event,
      lessonIds: [...new Set(record.remaining)],
      skipped: [],
      refusedBefore: record.refused ?? [],
    };
  }
  const { detail } = parseEvent(userUpdateEvent, event, "Atlas trigger event");
  return { detail, source: event, ...completedLessons(detail.updateDescription.updatedFields), refusedBefore: [] };
}

/** Builds the handler; what it holds (the token, the SQS client) lives as long as the container. */
export function createHandler(config: LessonHandlerConfig) {
  const token = new ClientCredentialsToken({
    tokenUrl: config.tokenUrl,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    refreshClientSecret: config.refreshClientSecret,
    audience: config.audience,
    bodyFormat: config.tokenRequestFormat ?? "json",
    // The body Topcoder's m2m client library sends, the token URL included.
    extraFields: { auth0_url: config.tokenUrl },
    retry: config.retry,
  });
  let sqs: SqsSender | undefined;

  /** Puts a resumable record in the failed-events queue, so that nothing is lost and what was accepted is not sent again. */
  const park = async (record: ResumeRecord) => {
    if (!config.failedEventsQueueUrl)
      throw new Error(`${record.reason} (no failed-events queue to keep the lessons ${JSON.stringify(record.remaining)} in)`);
    sqs ??= new SqsSender();
    await sqs.sendMessage({
      QueueUrl: config.failedEventsQueueUrl,
      MessageBody: JSON.stringify(record),
      MessageAttributes: { kind: { DataType: "String", StringValue: RESUME_KIND } },
    });
  };

  const handler = async (event: unknown, context?: unknown): Promise<LessonHandlerResult> => {
    const budget = TimeBudget.fromContext(context, config.budgetMarginMs ?? BUDGET_MARGIN_MS);
    const { detail, source, lessonIds, skipped, refusedBefore } = readInput(event);
    const userId = userIdFrom(detail.fullDocument.externalId);
    const email = detail.fullDocument.email;
    const log = { userId, email: maskEmail(email ?? undefined), replay: source !== event };
    if (skipped.length > 0) logger.warn("lesson elements without an id were left out", { ...log, skipped });
    const outcome: LessonHandlerResult = { userId, lessons: lessonIds.length, completed: 0, refused: [], skipped, parked: [] };
    if (lessonIds.length === 0) {
      logger.info("update completed no lesson", log);
      return outcome;
    }

    const result = await markLessonsComplete(
      { userId, email, lessonIds },
      { endpoint: config.endpoint, token, retry: config.retry ?? DEFAULT_RETRY_POLICY, concurrency: config.concurrency ?? 1, budget },
    );
    logger.info("lessons sent", {
      ...log,
      lessons: lessonIds.length,
      completed: result.completed.length,
      refused: result.refused,
      remaining: result.remaining,
      stopped: result.stopped,
    });

    // Nothing was accepted or refused: the event source's retry sends it all again, and no lesson twice.
    if (result.completed.length === 0 && result.refused.length === 0) {
      throw new Error(maskEmails(`no lesson marked complete for user ${userId}, so the event is retried whole: ${result.stopped}`));
    }
    // Some were: a retry of the whole event would send them again. What is left is kept to be resumed instead.
    if (result.remaining.length > 0 || result.refused.length > 0) {
      // The record keeps the event whole (a replay needs its e-mail address for the PUT); its reason masks any.
      const reason = maskEmails(
        [
          ...(result.remaining.length > 0 ? [`${result.remaining.length} lesson(s) not sent: ${result.stopped}`] : []),
          ...(result.refused.length > 0 ? [`${result.refused.length} lesson(s) refused by the Learning Paths API`] : []),
        ].join("; "),
      );
      // A replayed record's refusals stay in the record that follows it.
      await park(buildResumeRecord(source, { reason, remaining: result.remaining, refused: [...refusedBefore, ...result.refused] }));
      logger.warn("lessons kept in the failed-events queue as a resumable record", {
        ...log,
        remaining: result.remaining,
        refused: result.refused,
        reason,
      });
    }
    return { ...outcome, completed: result.completed.length, refused: result.refused, parked: result.remaining };
  };
  return Object.assign(handler, { token });
}

/** Configuration from the function's environment; a missing variable fails at cold start. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): LessonHandlerConfig {
  const secrets = new SecretReader({ env });
  return {
    tokenUrl: requireEnv(LESSONS_ENV.auth0Url, env),
    audience: requireEnv(LESSONS_ENV.auth0Audience, env),
    clientId: requireEnv(LESSONS_ENV.auth0ClientId, env),
    clientSecret: () => secrets.get(LESSONS_ENV.auth0ClientSecret),
    refreshClientSecret: () => secrets.refresh(LESSONS_ENV.auth0ClientSecret),
    tokenRequestFormat: tokenRequestFormatFromEnv(env),
    endpoint: requireEnv(LESSONS_ENV.learningPathsApiEndpoint, env),
    failedEventsQueueUrl: env[LESSONS_ENV.failedEventsQueueUrl] || undefined,
    concurrency: wholeNumberEnv(LESSONS_ENV.concurrency, 1, env),
  };
}

function tokenRequestFormatFromEnv(env: NodeJS.ProcessEnv): TokenRequestFormat {
  const value = env[LESSONS_ENV.auth0TokenRequestFormat] || "json";
  if (!(TOKEN_REQUEST_FORMATS as readonly string[]).includes(value)) {
    throw new Error(
      `environment variable ${LESSONS_ENV.auth0TokenRequestFormat} must be one of ${TOKEN_REQUEST_FORMATS.join(", ")} (got ${JSON.stringify(value)})`,
    );
  }
  return value as TokenRequestFormat;
}
