/**
 * lesson-completed: an Atlas trigger reports an update of a freeCodeCamp user; every lesson
 * the update completed is marked complete in the Learning Paths API.
 *
 * - Lessons still failing after bounded retries (429, 5xx, network) fail the invocation,
 *   naming them, so that EventBridge retries the event and its DLQ finally keeps it.
 * - Lessons the API refuses for good (4xx) are not retried; the event is kept in the same
 *   queue with the refusals, so nothing is lost and nothing is only logged.
 */
import { configFromEnv, createHandler } from "../handler";
import { lambdaHandler } from "../../lib/logger";

/** Built once per container: the token cache and the clients live as long as it does. */
export const handler = lambdaHandler(createHandler(configFromEnv()));
