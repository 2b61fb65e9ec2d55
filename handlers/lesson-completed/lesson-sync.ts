/**
 * Marks freeCodeCamp lessons complete in the Learning Paths API. Plain functions: the entry
 * file gives them their clients.
 */
import pLimit from "p-limit";
import * as z from "zod/mini";
import type { ClientCredentialsToken } from "../lib/client-credentials";
import { eventBridgeEvent, InvalidEventError, parseEvent } from "../lib/events";
import { fetchWithRetry, HttpError, type RetryPolicy } from "../lib/http";

/** An update of `freecodecamp.user` as the Atlas trigger delivers it, after its project expression. */
export const userUpdateEvent = eventBridgeEvent(
  z.object({
    operationType: z.literal("update"),
    fullDocument: z.object({
      externalId: z.string().check(z.minLength(1, "must not be empty")),
      email: z.optional(z.string()),
      username: z.optional(z.string()),
    }),
    updateDescription: z.object({
      updatedFields: z.record(z.string(), z.unknown()),
    }),
  }),
);
export type UserUpdateEvent = z.infer<typeof userUpdateEvent>;

const completedLesson = z.object({ id: z.string().check(z.minLength(1, "must not be empty")) });
const ELEMENT_UPDATE = /^completedChallenges\.\d+$/;
const FIELDS_PATH = ["detail", "updateDescription", "updatedFields"];

/**
 * The lesson ids an update completed, once each, in order. MongoDB reports an appended
 * lesson as `completedChallenges.<n>` and a rewritten array as `completedChallenges`.
 */
export function completedLessonIds(updatedFields: Record<string, unknown>): string[] {
  const ids: string[] = [];
  for (const [field, value] of Object.entries(updatedFields)) {
    if (ELEMENT_UPDATE.test(field)) {
      ids.push(parseEvent(completedLesson, value, "completed lesson", [...FIELDS_PATH, field]).id);
    } else if (field === "completedChallenges") {
      ids.push(...parseEvent(z.array(completedLesson), value, "completed lessons", [...FIELDS_PATH, field]).map((l) => l.id));
    }
  }
  return [...new Set(ids)];
}

/** `auth0|88778750` → `88778750`; `samlp|wipro-azuread|a@b.com` → `a@b.com`. */
export function userIdFrom(externalId: string): string {
  const userId = externalId.split("|").pop() ?? "";
  if (userId === "") {
    throw new InvalidEventError("Atlas trigger event", [
      { path: "detail.fullDocument.externalId", message: `has no user id after its last "|" (${JSON.stringify(externalId)})` },
    ]);
  }
  return userId;
}

export interface LessonCompletion {
  userId: string;
  email?: string;
  lessonIds: string[];
}

export interface SyncDependencies {
  /** The Learning Paths endpoint that acknowledges a completed lesson (PUT). */
  endpoint: string;
  token: ClientCredentialsToken;
  retry: RetryPolicy;
  /** Lessons sent at once. */
  concurrency: number;
}

export interface SyncResult {
  completed: string[];
  /** Refused for good (4xx other than 401): retrying cannot help. */
  refused: { lessonId: string; status: number }[];
  /** Still failing after every retry (429, 5xx, network): the event must be retried. */
  failed: { lessonId: string; reason: string }[];
}

async function putLesson(url: string, token: string, retry: RetryPolicy): Promise<void> {
  const response = await fetchWithRetry(url, { method: "PUT", headers: { authorization: `Bearer ${token}` } }, retry);
  await response.body?.cancel();
}

/** Sends each lesson with bounded concurrency; a 401 renews the token once for that lesson. */
export async function markLessonsComplete(completion: LessonCompletion, deps: SyncDependencies): Promise<SyncResult> {
  const limit = pLimit(deps.concurrency);
  const result: SyncResult = { completed: [], refused: [], failed: [] };
  await Promise.all(
    completion.lessonIds.map((lessonId) =>
      limit(async () => {
        const url = new URL(deps.endpoint);
        url.searchParams.set("userId", completion.userId);
        if (completion.email) url.searchParams.set("email", completion.email);
        url.searchParams.set("lessonId", lessonId);
        try {
          const token = await deps.token.get();
          try {
            await putLesson(url.toString(), token, deps.retry);
          } catch (err) {
            if (!(err instanceof HttpError && err.status === 401)) throw err;
            deps.token.invalidate(token);
            await putLesson(url.toString(), await deps.token.get(), deps.retry);
          }
          result.completed.push(lessonId);
        } catch (err) {
          if (err instanceof HttpError && !err.transient && err.status !== 401) {
            result.refused.push({ lessonId, status: err.status });
          } else {
            result.failed.push({ lessonId, reason: err instanceof Error ? err.message : String(err) });
          }
        }
      }),
    ),
  );
  return result;
}
