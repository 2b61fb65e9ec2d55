/**
 * Marks freeCodeCamp lessons complete in the Learning Paths API (docs/apps/lessons.md): one
 * `PUT <endpoint>?userId=&email=&lessonId=` per lesson, with the M2M token, lessons of one
 * update sent in order, one at a time. Plain functions: the entry file gives them their clients.
 */
import pLimit from "p-limit";
import * as z from "zod/mini";
import { BudgetExhaustedError, type TimeBudget } from "../lib/budget";
import type { ClientCredentialsToken } from "../lib/client-credentials";
import { eventBridgeEvent, InvalidEventError } from "../lib/events";
import { HttpError, requestWithRetry, type RetryPolicy } from "../lib/http";

/** An update of `freecodecamp.user` as the Atlas trigger delivers it, after its project expression. */
export const userUpdateEvent = eventBridgeEvent(
  z.object({
    operationType: z.literal("update"),
    fullDocument: z.object({
      externalId: z.string().check(z.minLength(1, "must not be empty")),
      // A user may have no e-mail address: it is then left out of the query.
      email: z.optional(z.nullable(z.string())),
      username: z.optional(z.nullable(z.string())),
    }),
    updateDescription: z.object({
      updatedFields: z.record(z.string(), z.unknown()),
    }),
  }),
);
export type UserUpdateEvent = z.infer<typeof userUpdateEvent>;

const ELEMENT_UPDATE = /^completedChallenges\.\d+$/;

/** A lesson element the update holds without a usable id: reported, and the others still sent. */
export interface SkippedLesson {
  field: string;
  reason: string;
}

function lessonId(value: unknown): string | undefined {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === "string" && id !== "" ? id : undefined;
}

/**
 * The lesson ids an update completed, once each, in order, and the elements it skipped.
 * MongoDB reports an appended lesson as `completedChallenges.<n>` and a rewritten array as
 * `completedChallenges`.
 */
export function completedLessons(updatedFields: Record<string, unknown>): { lessonIds: string[]; skipped: SkippedLesson[] } {
  const ids: string[] = [];
  const skipped: SkippedLesson[] = [];
  const take = (field: string, value: unknown) => {
    const id = lessonId(value);
    if (id) ids.push(id);
    else skipped.push({ field, reason: "has no id that is a non-empty string" });
  };
  for (const [field, value] of Object.entries(updatedFields)) {
    if (ELEMENT_UPDATE.test(field)) take(field, value);
    else if (field === "completedChallenges") {
      if (Array.isArray(value)) value.forEach((element, i) => take(`completedChallenges[${i}]`, element));
      else skipped.push({ field, reason: "is not a list" });
    }
  }
  return { lessonIds: [...new Set(ids)], skipped };
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
  email?: string | null;
  lessonIds: string[];
}

export interface SyncDependencies {
  /** The Learning Paths endpoint that marks a lesson complete (PUT). */
  endpoint: string;
  token: ClientCredentialsToken;
  retry: RetryPolicy;
  /** Lessons sent at once: 1, in order: the API's completeLesson races for lessons of one module. */
  concurrency: number;
  /** The invocation's time: no lesson starts once it has run out. */
  budget: TimeBudget;
}

export interface SyncResult {
  /** Accepted by the API, in the order the answers came. */
  completed: string[];
  /** Refused for good (4xx other than 401): retrying cannot help. */
  refused: { lessonId: string; status: number }[];
  /** Neither accepted nor refused, in the event's order: sending stopped before them, or they still failed after every retry. */
  remaining: string[];
  /** Why sending stopped before the last lesson: the first lesson that still failed, or the time budget. */
  stopped?: string;
}

async function putLesson(url: string, token: string, deps: SyncDependencies): Promise<void> {
  await requestWithRetry(url, { method: "PUT", headers: { authorization: `Bearer ${token}` } }, deps.retry, deps.budget);
}

/**
 * Sends each lesson, in order (`concurrency` at a time). The token is fetched once for all of
 * them (with its own retries); a 401 renews it once, shared by every lesson that meets it.
 * A lesson that still fails after its retries (429, 5xx, network) stops the sending, as does
 * the end of the time budget: no later lesson starts, so what is left is a contiguous tail of
 * the list (with concurrency 1), and none of it was sent out of order.
 */
export async function markLessonsComplete(completion: LessonCompletion, deps: SyncDependencies): Promise<SyncResult> {
  const completed: string[] = [];
  const refused: SyncResult["refused"] = [];
  let stopped: string | undefined;
  const outcome = (): SyncResult => {
    const done = new Set([...completed, ...refused.map((r) => r.lessonId)]);
    return { completed, refused, remaining: completion.lessonIds.filter((id) => !done.has(id)), ...(stopped ? { stopped } : {}) };
  };
  const stop = (reason: string) => (stopped ??= reason);
  let token: string;
  try {
    token = await deps.token.get(deps.budget);
  } catch (err) {
    stop(err instanceof BudgetExhaustedError ? err.message : `no token: ${err instanceof Error ? err.message : String(err)}`);
    return outcome();
  }
  let renewal: Promise<string> | undefined;
  const renew = (refusedToken: string) => {
    if (!renewal) {
      deps.token.invalidate(refusedToken);
      renewal = deps.token.get(deps.budget);
    }
    return renewal;
  };
  const limit = pLimit(deps.concurrency);
  await Promise.all(
    completion.lessonIds.map((lessonId) =>
      limit(async () => {
        if (stopped) return;
        if (deps.budget.exhausted()) {
          stop(`the invocation's time budget ran out before lesson ${lessonId}`);
          return;
        }
        const url = new URL(deps.endpoint);
        url.searchParams.set("userId", completion.userId);
        if (completion.email) url.searchParams.set("email", completion.email);
        url.searchParams.set("lessonId", lessonId);
        try {
          const used = token;
          try {
            await putLesson(url.toString(), used, deps);
          } catch (err) {
            if (!(err instanceof HttpError && err.status === 401)) throw err;
            token = await renew(used);
            await putLesson(url.toString(), token, deps);
          }
          completed.push(lessonId);
        } catch (err) {
          if (err instanceof HttpError && !err.transient && err.status !== 401) refused.push({ lessonId, status: err.status });
          else {
            const message = err instanceof Error ? err.message : String(err);
            if (err instanceof BudgetExhaustedError) stop(`lesson ${lessonId} not sent: ${message}`);
            else if (deps.budget.exhausted())
              stop(`lesson ${lessonId} not sent: the invocation's time budget ran out during its PUT (${message})`);
            else stop(`lesson ${lessonId} failed after retries: ${message}`);
          }
        }
      }),
    ),
  );
  return outcome();
}
