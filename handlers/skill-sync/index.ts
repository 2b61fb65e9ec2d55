/**
 * skill-sync: every 6 hours, syncs the Skill App's assessments (Airtable), badges and
 * assertions (Badgr) and template releases (GitHub → S3). See handlers/lib/skills.
 */
import { configFromEnv, runSync } from "../lib/skills/sync";

/** Clients and configuration are made once per container. */
const config = configFromEnv();

export const handler = () => runSync(config);
