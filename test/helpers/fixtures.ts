/**
 * The real payloads the tests use, copied into the repository (see test/fixtures/payloads/README.md).
 * Nothing outside the repository is read: a clone anywhere, and the GitHub workflow, find them here.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PAYLOADS_DIR } from "../../paths";

export { PAYLOADS_DIR };

/** The absolute path of a payload, for example `payloadPath("alma-webhook", "loan_created_event.json")`. */
export function payloadPath(...parts: string[]): string {
  return path.join(PAYLOADS_DIR, ...parts);
}

/** A payload parsed as JSON. */
export function readPayload<T = any>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(payloadPath(...parts), "utf8")) as T;
}
