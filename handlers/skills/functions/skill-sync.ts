/**
 * skill-sync: every 6 hours, syncs the Skill App's assessments (Airtable), badges and
 * assertions (Badgr) and template releases (GitHub → S3). See handlers/skills.
 */
import { TimeBudget } from "../../lib/budget";
import { configFromEnv, runSync } from "../sync";
import { lambdaHandler } from "../../lib/logger";

/** Clients and configuration are made once per container. */
const config = configFromEnv();

/** Kept back from the deadline to finish the template under way and report the summary. */
const BUDGET_MARGIN_MS = 30_000;

export const handler = lambdaHandler((_event: unknown, context) => runSync(config, TimeBudget.fromContext(context, BUDGET_MARGIN_MS)));
