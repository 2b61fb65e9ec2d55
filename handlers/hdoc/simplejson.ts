/**
 * JSON text of a DynamoDB item in the form the 100DaysOfCloud frontend reads
 * (docs/apps/hdoc.md): `simplejson.dumps(item, use_decimal=True)` of the item with its
 * numbers as Python Decimals, with simplejson's defaults (", " and ": " separators, every
 * character outside printable ASCII escaped).
 * The item is written straight from DynamoDB JSON (the API's AttributeValues), so that each
 * number keeps DynamoDB's exact digits and nothing is converted twice.
 *
 * Where simplejson fails (a set, a binary value: "is not JSON serializable"), this writes
 * what DynamoDB JSON holds instead: sets as lists, binary values as base64 strings.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";

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

/** The JSON text of one AttributeValue, as DynamoDB's JSON protocol carries it. */
export function attributeText(value: AttributeValue): string {
  if (value.S !== undefined) return stringText(value.S);
  if (value.N !== undefined) return decimalText(value.N);
  if (value.BOOL !== undefined) return value.BOOL ? "true" : "false";
  if (value.NULL !== undefined) return "null";
  if (value.M !== undefined) return itemText(value.M);
  if (value.L !== undefined) return `[${value.L.map(attributeText).join(", ")}]`;
  if (value.SS !== undefined) return `[${value.SS.map(stringText).join(", ")}]`;
  if (value.NS !== undefined) return `[${value.NS.map(decimalText).join(", ")}]`;
  // The JSON protocol carries binary values as base64 text already.
  if (value.B !== undefined) return stringText(value.B as unknown as string);
  if (value.BS !== undefined) return `[${(value.BS as unknown as string[]).map(stringText).join(", ")}]`;
  throw new TypeError(`not a DynamoDB value: ${JSON.stringify(value).slice(0, 100)}`);
}

/** The JSON text of an item (or map), with only the attributes `shown` lets through. */
export function itemText(item: Record<string, AttributeValue>, shown: (name: string) => boolean = () => true): string {
  const parts: string[] = [];
  for (const name in item) if (shown(name)) parts.push(`${stringText(name)}: ${attributeText(item[name])}`);
  return `{${parts.join(", ")}}`;
}
