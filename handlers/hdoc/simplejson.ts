/**
 * JSON text of a DynamoDB item as the original API wrote it: boto3 read numbers as Python
 * Decimals and `simplejson.dumps(item, use_decimal=True)` wrote them, with simplejson's
 * defaults (", " and ": " separators, every character outside printable ASCII escaped).
 * Numbers keep their exact digits: the item must be read with lib-dynamodb's
 * `wrapNumbers: true`, so that each arrives as a NumberValue holding DynamoDB's text.
 *
 * Where simplejson failed (a set, a binary value: "is not JSON serializable"), this writes
 * what DynamoDB JSON holds instead: sets as lists, binary values as base64 strings.
 */
import { NumberValue } from "@aws-sdk/lib-dynamodb";

/** `str(Decimal(text))`: Python's to-scientific-string of a DynamoDB number. */
export function decimalText(text: string): string {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match || (match[2] === "" && !match[3])) throw new TypeError(`not a DynamoDB number: ${JSON.stringify(text)}`);
  const [, sign, whole, fraction = "", exponentText = "0"] = match;
  const digits = (whole + fraction).replace(/^0+(?=\d)/, "");
  const exponent = Number(exponentText) - fraction.length;
  const adjusted = exponent + digits.length - 1;
  const prefix = sign === "-" ? "-" : "";
  if (exponent <= 0 && adjusted >= -6) {
    if (exponent === 0) return prefix + digits;
    const point = digits.length + exponent;
    return prefix + (point > 0 ? `${digits.slice(0, point)}.${digits.slice(point)}` : `0.${"0".repeat(-point)}${digits}`);
  }
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${prefix}${mantissa}E${adjusted >= 0 ? "+" : "-"}${Math.abs(adjusted)}`;
}

const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** A string as simplejson writes it with `ensure_ascii` (its default): printable ASCII as is, the rest as \uXXXX. */
export function stringText(value: string): string {
  return `"${value.replace(/["\\]|[^ -~]/g, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;
}

/** The JSON text of an unmarshalled DynamoDB value (read with `wrapNumbers: true`). */
export function simplejsonText(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "string") return stringText(value);
  if (value instanceof NumberValue) return decimalText(value.value);
  if (value instanceof Uint8Array) return stringText(Buffer.from(value).toString("base64"));
  if (Array.isArray(value) || value instanceof Set) return `[${[...value].map(simplejsonText).join(", ")}]`;
  if (typeof value === "object" && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    return `{${Object.entries(value).map(([k, v]) => `${stringText(k)}: ${simplejsonText(v)}`).join(", ")}}`;
  }
  // A JS number would have lost digits: only NumberValues come from a wrapNumbers read.
  throw new TypeError(`cannot write a ${typeof value} as an exact DynamoDB value`);
}
