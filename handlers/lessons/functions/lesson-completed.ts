/**
 * lesson-completed: an Atlas trigger reports an update of a freeCodeCamp user; every lesson
 * the update completed is marked complete in the Learning Paths API.
 *
 * - When no lesson could be sent (429, 5xx, network after bounded retries; no token; no
 *   time left), the invocation fails, naming why, so that the event is retried whole and
 *   its DLQ finally keeps it: nothing of it was sent.
 * - Once some lessons were accepted, a retry of the whole event would send them again: the
 *   lessons left, and those the API refused for good (4xx), are kept in the same queue as a
 *   resumable record (resume-record.ts). Invoked with that record, it sends only those.
 */
import { configFromEnv, createHandler } from "../handler";
import { lambdaHandler } from "../../lib/logger";

/** Built once per container: the token cache and the clients live as long as it does. */
export const handler = lambdaHandler(createHandler(configFromEnv()));
