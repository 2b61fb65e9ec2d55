/**
 * Structured JSON logs (Powertools Logger). Never log tokens or secrets; pass e-mail
 * addresses through maskEmail.
 */
import { Logger } from "@aws-lambda-powertools/logger";

/** One logger per container; the service name comes from POWERTOOLS_SERVICE_NAME. */
export const logger = new Logger();

/** `chris.mccann@topcoder.com` → `c***@topcoder.com`: enough to correlate, not enough to identify. */
export function maskEmail(email: string | undefined): string | undefined {
  if (!email) return email;
  const at = email.lastIndexOf("@");
  if (at <= 0) return "***";
  return `${email[0]}***${email.slice(at)}`;
}
