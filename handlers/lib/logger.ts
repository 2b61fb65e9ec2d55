/**
 * Structured JSON logs (Powertools Logger). Never log tokens or secrets; pass e-mail
 * addresses through maskEmail.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";

/**
 * One logger per container. Its service is POWERTOOLS_SERVICE_NAME (NodeFunction sets it to
 * the handler's name), else the function's own name, which Lambda always sets.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || process.env.AWS_LAMBDA_FUNCTION_NAME });

function isLambdaContext(context: unknown): context is Context {
  return typeof context === "object" && context !== null && typeof (context as Context).awsRequestId === "string";
}

/**
 * A Lambda entry whose logs carry the invocation: its request id, the function's name,
 * version, memory and ARN, and whether this is a cold start (Powertools' `addContext`).
 * Only for functions that log: the logger is about 20 KB of bundle, and a function that
 * reports failures only by throwing (iota) has Lambda log them with the request id. The alma
 * cache functions log (a record that fails inside a batch is answered, not thrown), and so
 * does the alma webhook (a delivery it publishes with fields the cache will not store as sent).
 */
export function lambdaHandler<E, R>(handle: (event: E, context?: Context) => Promise<R>): (event: E, context?: unknown) => Promise<R> {
  return (event, context) => {
    if (isLambdaContext(context)) {
      logger.addContext(context);
      return handle(event, context);
    }
    return handle(event);
  };
}

/** `chris.mccann@topcoder.com` → `c***@topcoder.com`: enough to correlate, not enough to identify. */
export function maskEmail(email: string | undefined): string | undefined {
  if (!email) return email;
  const at = email.lastIndexOf("@");
  if (at <= 0) return "***";
  return `${email[0]}***${email.slice(at)}`;
}
