/**
 * Validation at the edge: every handler parses its event with a zod/mini schema, and an
 * invalid event fails with one error that names each bad field.
 */
import * as z from "zod/mini";

/** An event that does not match its schema. The message names every bad field. */
export class InvalidEventError extends Error {
  constructor(
    readonly what: string,
    readonly fields: { path: string; message: string }[],
  ) {
    super(`invalid ${what}: ${fields.map((f) => `${f.path}: ${f.message}`).join("; ")}`);
    this.name = "InvalidEventError";
  }
}

/** `["detail", "updateDescription", "updatedFields", "completedChallenges.3", "id"]` → `detail.updateDescription.updatedFields["completedChallenges.3"].id` */
export function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(event)";
  return path
    .map((key, i) => {
      if (typeof key === "number") return `[${key}]`;
      const name = String(key);
      if (/^[A-Za-z_$][\w$-]*$/.test(name)) return i === 0 ? name : `.${name}`;
      return `[${JSON.stringify(name)}]`;
    })
    .join("");
}

/**
 * Parses `input` with `schema`, or throws an InvalidEventError naming the bad fields.
 * `at` is where `input` sits in the whole event, so that nested parts are named in full.
 * A whole event (no `at`) larger than `maxBytes` is refused first.
 */
export function parseEvent<S extends z.ZodMiniType>(
  schema: S,
  input: unknown,
  what: string,
  at: PropertyKey[] = [],
  maxBytes = MAX_EVENT_BYTES,
): z.infer<S> {
  if (at.length === 0) checkSize(input, what, maxBytes);
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new InvalidEventError(
    what,
    result.error.issues.map((issue) => ({ path: fieldPath([...at, ...issue.path]), message: issue.message })),
  );
}

/** EventBridge, SNS and SQS all cap a message at 256 KiB; anything larger did not come from them. */
export const MAX_EVENT_BYTES = 256 * 1024;
/** A batch of several messages (an SQS event source's) is capped by Lambda's 6 MB invocation payload instead. */
export const MAX_BATCH_BYTES = 6 * 1024 * 1024;

/** Refuses an event larger than any of our event sources can deliver. */
export function checkSize(input: unknown, what: string, max = MAX_EVENT_BYTES): void {
  const bytes = Buffer.byteLength(JSON.stringify(input) ?? "");
  if (bytes > max) throw new InvalidEventError(what, [{ path: "(event)", message: `is ${bytes} bytes; at most ${max} are accepted` }]);
}

/** The EventBridge envelope around a `detail` of the given shape. */
export function eventBridgeEvent<D extends z.ZodMiniType>(detail: D) {
  return z.object({
    "detail-type": z.string(),
    source: z.string(),
    id: z.optional(z.string()),
    time: z.optional(z.string()),
    detail,
  });
}
