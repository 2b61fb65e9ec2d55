/**
 * The `skills` block of the stack's config: its schema, the one place each of the app's
 * settings is declared, and the type the app's component takes.
 */
import { z } from "zod";
import { type AppRules, originalValue } from "../../config-problems";
import type { Improvement } from "../../components/adoption";
import { TARGET_RETRY_LIMITS } from "../../components/retry-bounds";
import { asyncRetry, awsRegion, bucketName, functionSettings, hardening, httpsUrl, nonEmpty } from "../settings-schema";

/** The improvements the app offers (see components/adoption.ts), in the order docs/cutover.md lists them. */
export const SKILLS_IMPROVEMENTS = [
  "encryption",
  "blockPublicAccess",
  "versioning",
  "immutableImageTags",
  "scanImagesOnPush",
  "imageLifecycle",
  "imagePullPolicy",
  "tlsOnly",
] as const satisfies readonly Improvement[];

export const skillsSchema = z.strictObject({
  airtable: z.strictObject({
    apiUrl: httpsUrl.default("https://api.airtable.com/v0"),
    baseId: z.string().regex(/^app[A-Za-z0-9]{14}$/, "must be an Airtable base id (app + 14 characters)"),
    table: nonEmpty.default("assessments"),
    /** Pages of 100 records read at most; past it, the source fails instead of looping. */
    maxPages: z.number().int().min(1).max(10_000).default(100),
  }),
  badgr: z.strictObject({
    baseUrl: httpsUrl.default("https://api.badgr.io"),
    issuerId: nonEmpty,
    /** The token request's scope and grant type, as the Skill App sent them. */
    scope: nonEmpty.default("rw:issuer rw:backpack"),
    grantType: nonEmpty.default("password"),
    /** Pages read at most per list; past it, the source fails instead of looping. */
    maxPages: z.number().int().min(1).max(10_000).default(100),
  }),
  github: z.strictObject({
    apiUrl: httpsUrl.default("https://api.github.com"),
    org: nonEmpty,
  }),
  templates: z
    .strictObject({
      /** The bot's existing templates bucket, adopted; when absent, the stack creates one. */
      bucketName: bucketName.optional(),
      /** Uncompressed bytes one release archive may expand to. */
      maxBytes: z
        .number()
        .int()
        .min(1)
        .max(10 * 1024 * 1024 * 1024)
        .default(100 * 1024 * 1024),
      /** Entries one release archive may hold. */
      maxEntries: z.number().int().min(1).max(1_000_000).default(5_000),
    })
    .prefault({}),
  /**
   * The subnets and security groups of the BRN database's VPC, when the database (RDS) is
   * only reachable inside it. The subnets need a route to the internet (Airtable, Badgr,
   * GitHub) and to S3 and SSM, through a NAT gateway or VPC endpoints.
   */
  vpc: z
    .strictObject({
      subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id")).min(1),
      securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, "must be a security group id")).min(1),
    })
    .optional(),
  /** The existing ECR repository of the sync's image, adopted; when absent, the stack creates one. */
  repositoryName: z
    .string()
    .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, "must be an ECR repository name")
    .optional(),
  schedule: z
    .strictObject({
      /** Switch the schedule off (for example, paused in dev) without removing it. */
      enabled: z.boolean().default(true),
      expression: z
        .string()
        .regex(/^(rate|cron|at)\(.+\)$/, "must be a Scheduler expression such as rate(6 hours)")
        .default("rate(6 hours)"),
    })
    .prefault({}),
  /** How many images the ECR lifecycle policy keeps. */
  keepImages: z.number().int().min(1).max(1000).default(10),
  function: functionSettings({ memoryMb: 512, timeoutSeconds: 600 }),
  /** Retry bounds of the schedule target (up to 185 attempts, 24 h). */
  delivery: asyncRetry({ maximumRetryAttempts: 3, maximumEventAgeSeconds: 3600 }, TARGET_RETRY_LIMITS),
  region: awsRegion,
  hardening: hardening(SKILLS_IMPROVEMENTS),
});

export type SkillsSettings = z.infer<typeof skillsSchema>;

export const skillsRules: AppRules<SkillsSettings> = {
  adopts: (skills) => !!(skills.repositoryName || skills.templates.bucketName),
  conflicts: (skills, given) =>
    skills.repositoryName && given.keepImages !== undefined && !skills.hardening.imageLifecycle
      ? [
          {
            key: "skills.keepImages",
            message: `would give the adopted image repository a lifecycle policy; the original's is ${originalValue("skills", "aws:ecr/repository:Repository", "skills-images", "aws:ecr/lifecyclePolicy:LifecyclePolicy")}`,
            optIn: "skills.hardening.imageLifecycle",
          },
        ]
      : [],
};
