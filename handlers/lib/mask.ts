/**
 * What a handler may print of data it did not write itself: e-mail addresses masked, secrets
 * left out. The logger applies it to every log line; thrown errors are masked before Lambda
 * logs them and keeps them in an invocation record. No dependencies: iota carries it too.
 */

/** `chris.mccann@topcoder.com` → `c***@topcoder.com`: enough to correlate, not enough to identify. */
export function maskEmail(email: string | undefined): string | undefined {
  if (!email) return email;
  const at = email.lastIndexOf("@");
  if (at <= 0) return "***";
  return `${email[0]}***${email.slice(at)}`;
}

/**
 * An e-mail address as it appears in text, JSON or a URL query (`%40` for `@`): the local
 * part's usual characters (not `=` or `&`, so that a query's other fields stay readable), and
 * a domain with at least one dot. Parts are bounded by their RFC lengths, so that long text
 * without an address is scanned in linear time.
 */
const EMAIL_IN_TEXT =
  /[A-Za-z0-9._%+-]{1,64}(?:@|%40)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+/g;

/** `text` with every e-mail address in it masked as maskEmail masks one. */
export function maskEmails(text: string): string {
  return text.replace(EMAIL_IN_TEXT, (found) => {
    const at = found.search(/@|%40/);
    return `${found[0]}***${found.slice(at)}`;
  });
}

/** `text` without any of `secrets` (values of at least 4 characters), each replaced by `[redacted]`. */
export function withoutSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  return secrets.reduce<string>((out, secret) => (secret && secret.length >= 4 ? out.split(secret).join("[redacted]") : out), text);
}

/**
 * The error with the e-mail addresses of its message and stack masked, in place (its class,
 * fields and cause are kept), for what Lambda logs of a thrown error and keeps in its record.
 */
export function maskedError<E>(err: E): E {
  if (!(err instanceof Error)) return err;
  for (const key of ["message", "stack"] as const) {
    const text = err[key];
    if (typeof text !== "string" || maskEmails(text) === text) continue;
    // Some errors define `message` as a getter: it is replaced by the masked value.
    Object.defineProperty(err, key, { value: maskEmails(text), writable: true, configurable: true, enumerable: false });
  }
  if (err.cause instanceof Error) maskedError(err.cause);
  return err;
}
