import { RUNBOOK_PATH } from "../../components/monitoring/alarms";
import type { Platform } from "../../components/platform";
import { STAGE_DEFAULTS } from "../../config";

/** The dev stage's settings, with alarms notifying one placeholder topic. */
export const TEST_PLATFORM: Platform = {
  region: "eu-west-2",
  logRetentionDays: STAGE_DEFAULTS.dev.logRetentionDays,
  alarming: {
    settings: STAGE_DEFAULTS.dev.alarms,
    actions: ["arn:aws:sns:eu-west-2:123456789012:alerts"],
    stack: "test",
    namePrefix: "tributary-test",
    runbookUrl: RUNBOOK_PATH,
  },
  protection: {
    deletionProtection: STAGE_DEFAULTS.dev.deletionProtection,
    pointInTimeRecovery: STAGE_DEFAULTS.dev.pointInTimeRecovery,
    retainOnDelete: STAGE_DEFAULTS.dev.retainOnDelete,
  },
};
