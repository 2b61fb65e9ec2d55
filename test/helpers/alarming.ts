import { STAGE_DEFAULTS } from "../../config";
import type { Alarming } from "../../components/events/dead-letter-queue";

/** The dev stage's alarm settings, notifying one placeholder topic. */
export const TEST_ALARMING: Alarming = {
  settings: STAGE_DEFAULTS.dev.alarms,
  actions: ["arn:aws:sns:eu-west-2:123456789012:alerts"],
};
