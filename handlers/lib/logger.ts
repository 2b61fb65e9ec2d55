/**
 * Structured JSON logs (Powertools Logger). Never log tokens or secrets, nor an upstream
 * response's body where it may echo them (http.ts). Every e-mail address in a log line is
 * masked, wherever it appears.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";
import { maskedError, maskEmails } from "./mask";

export { maskEmail, maskEmails } from "./mask";

/**
 * One logger per container. Its service is POWERTOOLS_SERVICE_NAME (NodeFunction sets it to
 * the handler's name), else the function's own name, which Lambda always sets. Every string
 * of every line (message, fields, errors) has its e-mail addresses masked.
 */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || process.env.AWS_LAMBDA_FUNCTION_NAME,
  jsonReplacerFn: (_key, value) => (typeof value === "string" ? maskEmails(value) : value),
});

function isLambdaContext(context: unknown): context is Context {
  return typeof context === "object" && context !== null && typeof (context as Context).awsRequestId === "string";
}

/**
 * A Lambda entry whose logs carry the invocation: its request id, the function's name,
 * version, memory and ARN, and whether this is a cold start (Powertools' `addContext`). An
 * error it throws has its e-mail addresses masked: Lambda logs it, and keeps it in the
 * invocation record of an asynchronous failure.
 * Only for functions that log: the logger is about 20 KB of bundle, and a function that
 * reports failures only by throwing (iota) has Lambda log them with the request id. The alma
 * cache functions log (a record that fails inside a batch is answered, not thrown), and so
 * does the alma webhook (a delivery it publishes with fields the cache will not store as sent).
 */
export function lambdaHandler<E, R>(handle: (event: E, context?: Context) => Promise<R>): (event: E, context?: unknown) => Promise<R> {
  return async (event, context) => {
    try {
      if (isLambdaContext(context)) {
        logger.addContext(context);
        return await handle(event, context);
      }
      return await handle(event);
    } catch (err) {
      throw maskedError(err);
    }
  };
}
