/**
 * The `lessons` block of the stack's config: its schema, the one place each of the app's
 * settings is declared, and the type the app's component takes.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { type AppRules, type Dependency, originalValue } from "../../config-problems";
import type { Platform } from "../../components/platform";
import { functionSizing } from "../settings-schema";
import type { LessonCompletionSyncArgs } from "./lesson-completion-sync";
import type { Improvement } from "../../components/adoption";
import { TOKEN_REQUEST_FORMATS } from "../../handlers/lib/env-names";
import { TARGET_RETRY_LIMITS } from "../../components/retry-bounds";
import { asyncRetry, atlasId, awsRegion, functionSettings, hardening, httpsUrl, nonEmpty } from "../settings-schema";

/** The improvements the app offers (see components/adoption.ts), in the order docs/cutover.md lists them. */
export const LESSONS_IMPROVEMENTS = ["triggerMatch", "tlsOnly"] as const satisfies readonly Improvement[];

export const lessonsSchema = z.strictObject({
  atlas: z.strictObject({
    /** Atlas project (group) id that holds the cluster. */
    projectId: atlasId("Atlas project id"),
    /** Name of the cluster that holds `freecodecamp.user`. */
    clusterName: nonEmpty,
    /** Existing App Services app id; when absent, the program creates the app. */
    appId: atlasId("App Services app id").optional(),
    /** Id of the app's linked cluster service; required together with `appId`. */
    clusterServiceId: atlasId("service id").optional(),
    /**
     * Existing trigger of that app to adopt, with the partner event bus named after it, so
     * that events keep flowing through the move. Needs `appId`.
     */
    triggerId: atlasId("trigger id").optional(),
    /** Base URL of the App Services Admin API. */
    adminApiUrl: httpsUrl.default("https://services.cloud.mongodb.com/api/admin/v3.0"),
    database: nonEmpty.default("freecodecamp"),
    collection: nonEmpty.default("user"),
  }),
  auth0: z.strictObject({
    /** OAuth2 token endpoint (AUTH0_URL), for example https://tenant.auth0.com/oauth/token. */
    tokenUrl: httpsUrl,
    /**
     * The audience the token is asked for (AUTH0_AUDIENCE). No default: a wrong one makes
     * Auth0 refuse every token. The original's dev value is https://m2m.topcoder-dev.com/
     * (learning-paths-api's src/utils/mongodb-trigger-handler/README.md and config/test.js).
     */
    audience: nonEmpty,
    /** How the token request's body is encoded: `json` (as the original's tc-core-library-js sent it) or `form`. */
    tokenRequestFormat: z.enum(TOKEN_REQUEST_FORMATS).default("json"),
    /** Scopes granted to the machine-to-machine client it creates (default update:certification_progress); an adopted grant keeps its own. */
    scopes: z.array(nonEmpty).min(1).optional(),
    /** The existing M2M application the original handler uses (its client id), adopted with its grant; needs `grantId`. */
    clientId: z
      .string()
      .regex(/^[A-Za-z0-9]{16,64}$/, "must be an Auth0 client id")
      .optional(),
    /** The existing grant of that application on `audience` (cgr_…), adopted. */
    grantId: z
      .string()
      .regex(/^cgr_[A-Za-z0-9]+$/, "must be an Auth0 client grant id (cgr_…)")
      .optional(),
  }),
  /** The Learning Paths API endpoint that marks a lesson complete (PUT), as the seed names it: `…/v5/learning-paths/certification-progresses/complete-lesson-via-mongo-trigger`. */
  learningPathsApiEndpoint: httpsUrl,
  /**
   * Lessons of one update sent at once. 1 (the default) sends them in order, one at a time,
   * as the original did: the API's completeLesson counts, inserts, then sets the module's
   * status, so lessons of one module sent together can race.
   */
  concurrency: z.number().int().min(1).max(16).default(1),
  function: functionSettings({ memoryMb: 256, timeoutSeconds: 60 }),
  /** Retry bounds of the EventBridge target (up to 185 attempts, 24 h). */
  delivery: asyncRetry(TARGET_RETRY_LIMITS, TARGET_RETRY_LIMITS),
  /** The cutover switch: the rule stays disabled and the bus's archive keeps the events for a replay (docs/cutover.md, lessons). */
  paused: z.boolean().default(false),
  region: awsRegion,
  hardening: hardening(LESSONS_IMPROVEMENTS),
});

export type LessonsSettings = z.infer<typeof lessonsSchema>;

export const lessonsRules: AppRules<LessonsSettings> = {
  adopts: (lessons) => !!(lessons.atlas.triggerId || lessons.auth0.clientId),
  dependencies: ({ atlas, auth0 }) => {
    const found: Dependency[] = [];
    if ((atlas.appId === undefined) !== (atlas.clusterServiceId === undefined)) {
      found.push({
        key: `lessons.atlas.${atlas.appId === undefined ? "appId" : "clusterServiceId"}`,
        message: "appId and clusterServiceId are given together or not at all",
      });
    }
    if (atlas.triggerId !== undefined && atlas.appId === undefined) {
      found.push({ key: "lessons.atlas.appId", message: "an adopted trigger (triggerId) needs the app that holds it" });
    }
    if ((auth0.clientId === undefined) !== (auth0.grantId === undefined)) {
      found.push({
        key: `lessons.auth0.${auth0.clientId === undefined ? "clientId" : "grantId"}`,
        message: "an adopted Auth0 client (clientId) is adopted with its grant (grantId)",
      });
    }
    return found;
  },
  conflicts: (lessons, given) =>
    lessons.auth0.grantId && given.auth0?.scopes !== undefined
      ? [
          {
            key: "lessons.auth0.scopes",
            message: `would change the adopted Auth0 grant's scopes; the original's are ${originalValue("lessons", "auth0:index/clientGrant:ClientGrant", "lessons-auth0-grant", "scopes")}: change them in the Auth0 dashboard`,
          },
        ]
      : [],
};

/** The component's arguments from the block, with what the block does not hold: the secrets, the stack and the stage's settings. */
export function lessonCompletionSyncArgs(
  lessons: LessonsSettings,
  context: {
    stack: string;
    atlasApiKey: { publicKey: pulumi.Input<string>; privateKey: pulumi.Input<string> };
    eventArchiveRetentionDays: number;
    platform: Platform;
  },
): LessonCompletionSyncArgs {
  const { atlas, auth0 } = lessons;
  return {
    atlas: {
      projectId: atlas.projectId,
      clusterName: atlas.clusterName,
      existingApp: atlas.appId && atlas.clusterServiceId ? { appId: atlas.appId, clusterServiceId: atlas.clusterServiceId } : undefined,
      triggerId: atlas.triggerId,
      adminApiUrl: atlas.adminApiUrl,
      database: atlas.database,
      collection: atlas.collection,
    },
    atlasApiKey: context.atlasApiKey,
    appName: `tributary-lessons-${context.stack}`,
    auth0: {
      tokenUrl: auth0.tokenUrl,
      audience: auth0.audience,
      tokenRequestFormat: auth0.tokenRequestFormat,
      existing: auth0.clientId && auth0.grantId ? { clientId: auth0.clientId, grantId: auth0.grantId } : undefined,
      // A grant the stack creates gets the one scope the endpoint needs unless config names others.
      scopes: auth0.scopes ?? (auth0.grantId ? undefined : ["update:certification_progress"]),
    },
    learningPathsApiEndpoint: lessons.learningPathsApiEndpoint,
    sending: { concurrency: lessons.concurrency },
    function: functionSizing(lessons.function),
    delivery: lessons.delivery,
    eventArchiveRetentionDays: context.eventArchiveRetentionDays,
    paused: lessons.paused,
    hardening: lessons.hardening,
    platform: context.platform,
  };
}
