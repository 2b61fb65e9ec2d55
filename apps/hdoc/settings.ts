/**
 * The `hdoc` block of the stack's config: its schema, the one place each of the app's
 * settings is declared, and the type the app's component takes.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { type AppRules, type Dependency, originalValue } from "../../config-problems";
import type { Platform } from "../../components/platform";
import { functionSizing } from "../settings-schema";
import type { HdocBackendArgs } from "./hdoc-backend";
import type { Improvement } from "../../components/adoption";
import { awsRegion, bucketName, functionSettings, hardening, tableName } from "../settings-schema";

/** The improvements the app offers (see components/adoption.ts), in the order docs/cutover.md lists them. */
export const HDOC_IMPROVEMENTS = [
  "encryption",
  "pointInTimeRecovery",
  "deletionProtection",
  "onDemandCapacity",
  "blockPublicAccess",
  "versioning",
  "preventUserExistenceErrors",
  "exclusiveBucketPolicy",
  "tlsOnly",
] as const satisfies readonly Improvement[];

/** The hdoc API's routes; each reads the users table. */
export const HDOC_ROUTE_KEYS = ["GET /user", "GET /users"] as const;
/** The users table's key, which every answer keeps. */
const HDOC_KEY = "github_username";
/** What the original API answered but the public routes leave out by default: a user's e-mail address and Cognito identity. */
export const HDOC_PRIVATE_ATTRIBUTES = ["email", "cognito_sub"] as const;

export const hdocSchema = z.strictObject({
  /** The existing users table, adopted; when absent, the stack creates one. */
  usersTableName: tableName.optional(),
  auth: z.strictObject({
    /**
     * Existing Cognito user pool, adopted with its own settings (attributes, triggers, e-mail)
     * and its hosted-UI domain, which must then be `domainPrefix`.
     */
    userPoolId: z
      .string()
      .regex(/^[a-z]{2}-[a-z]+-\d_[A-Za-z0-9]{1,55}$/, "must be a Cognito user pool id such as eu-west-2_AbCdEf123")
      .optional(),
    /** Existing app client of that pool, adopted (the frontend knows its id); needs `userPoolId`. */
    clientId: z
      .string()
      .regex(/^[a-z0-9]{1,128}$/, "must be a Cognito app client id")
      .optional(),
    /** Prefix of the Cognito hosted-UI domain (<prefix>.auth.<region>.amazoncognito.com). */
    domainPrefix: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "must be lower-case letters, digits and dashes"),
    /** Where the hosted UI may return to: needed when the client is created; an adopted client keeps its own. */
    callbackUrls: z.array(z.url()).min(1).optional(),
    logoutUrls: z.array(z.url()).min(1).optional(),
  }),
  api: z
    .strictObject({
      /** Allowed CORS origins: any (`*`), as the original answered, unless origins are listed. */
      corsOrigins: z
        .array(z.union([z.literal("*"), z.url()]))
        .min(1)
        .default(["*"]),
      throttling: z
        .strictObject({
          burstLimit: z.number().int().min(1).default(50),
          rateLimit: z.number().min(1).default(100),
        })
        .prefault({}),
      /**
       * Routes that require a Cognito JWT: none, or every route, since each reads the users
       * (`GET /users?username=X` answers what `GET /user?username=X` does).
       */
      protectedRoutes: z
        .array(z.enum(HDOC_ROUTE_KEYS))
        .default([])
        .superRefine((routes, ctx) => {
          const open = HDOC_ROUTE_KEYS.filter((key) => !routes.includes(key));
          if (routes.length > 0 && open.length > 0) {
            ctx.addIssue({
              code: "custom",
              message: `protects ${routes.join(", ")} but not ${open.join(", ")}, which reads the same users (GET /users?username=X answers what GET /user?username=X does): list every route (${HDOC_ROUTE_KEYS.join(", ")}), or none`,
            });
          }
        }),
      /**
       * The attributes of a user the routes answer with: `only` those listed, or all `except`
       * those listed. The original answered every attribute, `email` and `cognito_sub` too.
       */
      publicAttributes: z
        .strictObject({
          only: z
            .array(z.string().min(1))
            .min(1)
            .refine((names) => names.includes(HDOC_KEY), `must include ${HDOC_KEY}, the key a user is found by`)
            .optional(),
          except: z
            .array(z.string().min(1))
            .refine((names) => !names.includes(HDOC_KEY), `cannot leave out ${HDOC_KEY}, the key a user is found by`)
            .optional(),
        })
        .refine(
          (p) => (p.only === undefined) !== (p.except === undefined),
          "give either only (the attributes answered) or except (the attributes left out)",
        )
        .default({ except: [...HDOC_PRIVATE_ATTRIBUTES] }),
    })
    .prefault({}),
  frontend: z
    .strictObject({
      /** The frontend's existing bucket, adopted; when absent, the stack creates one. */
      bucketName: bucketName.optional(),
      /** The site's own domain: the distribution's aliases and an ACM certificate (in us-east-1, as CloudFront needs). */
      domain: z
        .strictObject({
          /** Host names of the site; the first is the certificate's subject. */
          names: z
            .array(z.string().regex(/^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a lower-case host name"))
            .min(1),
          /** A Route 53 hosted zone for the names: the certificate's validation records are written there. */
          hostedZoneId: z
            .string()
            .regex(/^Z[A-Z0-9]{1,32}$/, "must be a Route 53 hosted zone id")
            .optional(),
        })
        .optional(),
    })
    .prefault({}),
  function: functionSettings({ memoryMb: 256, timeoutSeconds: 10 }),
  region: awsRegion,
  hardening: hardening(HDOC_IMPROVEMENTS),
});

export type HdocSettings = z.infer<typeof hdocSchema>;

export const hdocRules: AppRules<HdocSettings> = {
  adopts: (hdoc) => !!(hdoc.usersTableName || hdoc.auth.userPoolId || hdoc.frontend.bucketName),
  dependencies: (hdoc) => {
    const found: Dependency[] = [];
    if (hdoc.auth.clientId !== undefined && hdoc.auth.userPoolId === undefined) {
      found.push({ key: "hdoc.auth.userPoolId", message: "an adopted app client (clientId) needs the user pool that holds it" });
    }
    if (hdoc.auth.clientId === undefined) {
      for (const key of ["callbackUrls", "logoutUrls"] as const) {
        if (hdoc.auth[key] === undefined)
          found.push({ key: `hdoc.auth.${key}`, message: "the app client this stack creates needs its URLs" });
      }
    }
    return found;
  },
  conflicts: (hdoc, given) =>
    hdoc.auth.clientId
      ? ["callbackUrls", "logoutUrls"]
          .filter((key) => given.auth?.[key] !== undefined)
          .map((key) => ({
            key: `hdoc.auth.${key}`,
            message: `would change the adopted app client's ${key}; the original's are ${originalValue("hdoc", "aws:cognito/userPoolClient:UserPoolClient", "hdoc-auth-client", key)}, the ClientDomains parameter: change them in Cognito`,
          }))
      : [],
};

/** The component's arguments from the block, with the provider of the site's certificate and the stage's platform. */
export function hdocBackendArgs(
  hdoc: HdocSettings,
  context: { certificateProvider?: pulumi.ProviderResource; platform: Platform },
): HdocBackendArgs {
  return {
    usersTableName: hdoc.usersTableName,
    auth: {
      domainPrefix: hdoc.auth.domainPrefix,
      callbackUrls: hdoc.auth.callbackUrls,
      logoutUrls: hdoc.auth.logoutUrls,
      existingUserPoolId: hdoc.auth.userPoolId,
      existingClientId: hdoc.auth.clientId,
    },
    api: hdoc.api,
    frontendBucketName: hdoc.frontend.bucketName,
    frontendDomain: hdoc.frontend.domain,
    certificateProvider: context.certificateProvider,
    function: functionSizing(hdoc.function),
    hardening: hdoc.hardening,
    platform: context.platform,
  };
}
