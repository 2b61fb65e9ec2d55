/**
 * Reads a raw DynamoDB item (AttributeValue maps) the way the API gateway does: through the
 * neighbours' schemas, parsed by dynamoose (docs/apps/alma.md names the versions). Its
 * rules, which decide whether the neighbours see what the cache wrote:
 * - attributes outside the schema are ignored;
 * - a String attribute stored as anything but S reads as the JSON of the stored value
 *   (`{"N":"1"}`), without an error;
 * - a Number or native Boolean attribute stored as anything else fails the read;
 * - a list attribute reads a List element by element, and anything else (a String Set,
 *   NULL) as `[]`;
 * - a value/desc map reads an M's `value` and `desc`, and anything else as `{}`.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { Attributes } from "../../handlers/alma/schema";

function readString(value: AttributeValue): string {
  return value.S !== undefined ? value.S : JSON.stringify(value);
}

export function readAsDynamoose(attributes: Attributes, raw: Record<string, AttributeValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, attribute] of Object.entries(attributes)) {
    const value = raw[name];
    if (value === undefined) continue;
    switch (attribute.type) {
      case "string":
        out[name] = readString(value);
        break;
      case "number":
        if (value.N === undefined) throw new SyntaxError(`${name}: a Number stored as ${Object.keys(value)[0]} cannot be read`);
        out[name] = Number(value.N);
        break;
      case "boolean":
        if (value.BOOL === undefined) throw new SyntaxError(`${name}: a Boolean stored as ${Object.keys(value)[0]} cannot be read`);
        out[name] = value.BOOL;
        break;
      case "stringList":
        out[name] = value.L ? value.L.map(readString) : [];
        break;
      case "valueDescMap": {
        const map: Record<string, string> = {};
        for (const key of ["value", "desc"]) if (value.M?.[key] !== undefined) map[key] = readString(value.M[key]);
        out[name] = map;
        break;
      }
    }
  }
  return out;
}
