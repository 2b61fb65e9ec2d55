import { STAGE_DEFAULTS } from "../../config";
import type { Alarming } from "../../components/events/dead-letter-queue";
import type { Protection } from "../../components/storage/stateful";

/** The dev stage's alarm settings, notifying one placeholder topic. */
export const TEST_ALARMING: Alarming = {
  settings: STAGE_DEFAULTS.dev.alarms,
  actions: ["arn:aws:sns:eu-west-2:123456789012:alerts"],
};

/** The dev stage's protection of stateful resources. */
export const TEST_PROTECTION: Protection = {
  deletionProtection: STAGE_DEFAULTS.dev.deletionProtection,
  pointInTimeRecovery: STAGE_DEFAULTS.dev.pointInTimeRecovery,
  retainOnDelete: STAGE_DEFAULTS.dev.retainOnDelete,
};
