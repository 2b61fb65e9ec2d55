/**
 * The BRN rows the sync writes, made from what Airtable and Badgr answer, in the shape the
 * Skill App's services read (docs/apps/skills.md): its columns, list fields joined with
 * commas, its share links and embed HTML. A missing value is NULL and a date is a DATETIME.
 */
import { ASSESSMENTS } from "./brn-schema";
import type { Row, RowResult } from "./store";

/** `2022-06-09T18:28:32Z` → `2022-06-09 18:28:32` (UTC), the DATETIME the column holds; undefined if it is not a time. */
export function mysqlDateTime(iso: unknown): string | undefined {
  if (typeof iso !== "string") return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/**
 * A value as Python's `str()` prints it: Badgr's lists and objects (`alignments`, `tags`,
 * `expires`, `extensions`) are stored this way, so that the rows compare equal to those
 * already in the table.
 */
export function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") {
    // Python quotes with ' unless the text holds a ' and no ".
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const escaped = value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t");
    return quote + (quote === "'" ? escaped.replace(/'/g, "\\'") : escaped) + quote;
  }
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(", ")}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${pythonRepr(k)}: ${pythonRepr(v)}`)
    .join(", ")}}`;
}

/** A scalar as the text the column holds; lists joined with commas (no space), as the rows already in the table have them. */
function text(value: unknown, field: string): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (Array.isArray(value)) {
    if (!value.every((v) => typeof v === "string" || typeof v === "number")) throw new Error(`${field} is a list of objects, not of text`);
    return value.join(",");
  }
  if (typeof value === "object") throw new Error(`${field} is an object, not text`);
  return String(value);
}

/**
 * An assessment from its Airtable record. Airtable's field names are the column names; its
 * `id` field (a number, not the record's `rec…` id) is the integer primary key. Airtable
 * leaves empty fields and unchecked boxes out, so a field it leaves out is empty (NULL, or
 * false for `review_required`): the row mirrors Airtable.
 */
export function assessmentRow(record: { id?: unknown; fields?: Record<string, unknown> }): RowResult {
  const fields = record?.fields ?? {};
  const id = typeof fields.id === "string" && /^\d+$/.test(fields.id) ? Number(fields.id) : fields.id;
  if (typeof id !== "number" || !Number.isInteger(id)) {
    return { error: `record ${String(record?.id)}: fields.id must be an integer (got ${JSON.stringify(fields.id) ?? "nothing"})` };
  }
  const row: Row = { id };
  try {
    for (const column of Object.keys(ASSESSMENTS.columns)) {
      if (column === "id") continue;
      row[column] = column === "review_required" ? (fields.review_required === true ? 1 : 0) : text(fields[column], `fields.${column}`);
    }
  } catch (err) {
    return { error: `record ${String(record?.id)} (assessment ${id}): ${(err as Error).message}` };
  }
  return { row };
}

const BADGE_REPR_COLUMNS = ["alignments", "tags", "expires", "extensions"];

/** A badge class from Badgr v2, by the keys that are its column names. */
export function badgeRow(badge: Record<string, unknown>): RowResult {
  if (typeof badge?.entityId !== "string" || badge.entityId === "")
    return { error: `a badge class without entityId (${String(badge?.name)})` };
  const row: Row = {};
  try {
    for (const column of [
      "entityId",
      "entityType",
      "openBadgeId",
      "createdBy",
      "issuer",
      "issuerOpenBadgeId",
      "name",
      "image",
      "description",
      "achievementType",
      "criteriaUrl",
      "criteriaNarrative",
    ]) {
      row[column] = text(badge[column], column);
    }
  } catch (err) {
    return { error: `badge ${badge.entityId}: ${(err as Error).message}` };
  }
  row.createdAt = mysqlDateTime(badge.createdAt) ?? null;
  for (const column of BADGE_REPR_COLUMNS) row[column] = column in badge ? pythonRepr(badge[column]) : null;
  return { row };
}

const ORGANIZATION = "Bioinformatics Research Network";
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
/** The links' issue date when an assertion has no createdAt, as the rows already in the table have it. */
const MISSING_CREATED_AT = "2000-01-01T00:00:00Z";

/** The share links and embed HTML of an assertion, exactly as the rows already in the table hold them (no URL encoding but Twitter's). */
export function shareColumns(assertion: {
  openBadgeId: string;
  entityId: string;
  badgeName: string;
  createdAt: Date;
  expires?: Date;
  recipientType?: unknown;
  recipientEmail?: unknown;
  image?: unknown;
}): Row {
  const { openBadgeId: ob, entityId, badgeName: b, createdAt: ca } = assertion;
  const byEmail = assertion.recipientType === "email";
  const expiration = assertion.expires
    ? `&expirationYear=${assertion.expires.getUTCFullYear()}&expirationMonth=${assertion.expires.getUTCMonth() + 1}`
    : "";
  const awarded = `${MONTHS[ca.getUTCMonth()]} ${String(ca.getUTCDate()).padStart(2, "0")}, ${ca.getUTCFullYear()}`;
  const tweet = `https://twitter.com/intent/tweet?text=I earned the "${b}" badge from @BRN_science!%0A%0A${ob}`;
  return {
    share_url: byEmail ? `${ob}?identity__email=${assertion.recipientEmail}` : ob,
    linkedin_add_profile_url: `https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name=${b}&organizationName=${ORGANIZATION}&issueYear=${ca.getUTCFullYear()}&issueMonth=${ca.getUTCMonth() + 1}&certUrl=${ob}&certId=${entityId}${expiration}`,
    twitter_share_url: tweet.replace(/ /g, "%20").replace(/#/g, "%23").replace(/"/g, "%22"),
    facebook_share_url: `https://www.facebook.com/sharer/sharer.php?u=${ob}`,
    linkedin_share_url: `https://www.linkedin.com/sharing/share-offsite/?url=${ob}`,
    embed_card_html: `<iframe src="${ob}?embedVersion=1&amp;embedWidth=330&amp;embedHeight=191${byEmail ? `&amp;identity__email=${assertion.recipientEmail}` : ""}" title="Badge: ${b}" style="width: 330px; height: 191px; border: 0px;"></iframe>`,
    embed_badge_html:
      `<blockquote class="badgr-badge" style="font-family: Helvetica, Roboto, &quot;Segoe UI&quot;, Calibri, sans-serif;"><a href="${ob}"><img width="120px" height="120px" src="${assertion.image}"></a>` +
      `<p class="badgr-badge-name" style="hyphens: auto; overflow-wrap: break-word; word-wrap: break-word; margin: 0; font-size: 16px; font-weight: 600; font-style: normal; font-stretch: normal; line-height: 1.25; letter-spacing: normal; text-align: left; color: #05012c;">${b}</p>` +
      `<p class="badgr-badge-date" style="margin: 0; font-size: 12px; font-style: normal; font-stretch: normal; line-height: 1.67; letter-spacing: normal; text-align: left; color: #555555;"><strong style="font-size: 12px; font-weight: bold; font-style: normal; font-stretch: normal; line-height: 1.67; letter-spacing: normal; text-align: left; color: #000;">Awarded: </strong>${awarded}</p>` +
      `<p style="margin: 16px 0; padding: 0;"><a class="badgr-badge-verify" target="_blank" href="https://badgecheck.io?url=${ob}" style="box-sizing: content-box; display: flex; align-items: center; justify-content: center; margin: 0; font-size:14px; font-weight: bold; width: 48px; height: 16px; border-radius: 4px; border: solid 1px black; text-decoration: none; padding: 6px 16px; margin: 16px 0; color: black;">VERIFY</a></p>` +
      `<script async="async" src="https://badgr.com/assets/widgets.bundle.js"></script></blockquote>`,
  };
}

/**
 * An assertion from Badgr v2: its own columns, `recipient` and the first `evidence`
 * flattened, and the share links built from its badge's name. The issue date of the links
 * is `createdAt`.
 */
export function assertionRow(assertion: Record<string, any>, badgeNames: Map<string, string>): RowResult {
  const entityId = assertion?.entityId;
  if (typeof entityId !== "string" || entityId === "") return { error: "an assertion without entityId" };
  const badgeName = badgeNames.get(String(assertion.badgeclass));
  if (badgeName === undefined)
    return { error: `assertion ${entityId}: its badge class ${String(assertion.badgeclass)} is not among the issuer's badges` };
  if (typeof assertion.openBadgeId !== "string") return { error: `assertion ${entityId}: openBadgeId is missing` };
  const recipient = (assertion.recipient ?? {}) as Record<string, unknown>;
  const evidence = Array.isArray(assertion.evidence) ? (assertion.evidence[0] as Record<string, unknown> | undefined) : undefined;
  const createdAt = mysqlDateTime(assertion.createdAt ?? MISSING_CREATED_AT);
  if (!createdAt) return { error: `assertion ${entityId}: createdAt ${JSON.stringify(assertion.createdAt)} is not a time` };
  const expires = mysqlDateTime(assertion.expires);
  try {
    return {
      row: {
        entityId,
        entityType: text(assertion.entityType, "entityType"),
        openBadgeId: assertion.openBadgeId,
        createdAt,
        createdBy: text(assertion.createdBy, "createdBy"),
        badgeclass: String(assertion.badgeclass),
        recipient_identity: text(recipient.identity, "recipient.identity"),
        recipient_hashed: typeof recipient.hashed === "boolean" ? Number(recipient.hashed) : null,
        recipient_type: text(recipient.type, "recipient.type"),
        recipient_plaintextIdentity: text(recipient.plaintextIdentity, "recipient.plaintextIdentity"),
        recipient_salt: text(recipient.salt, "recipient.salt"),
        issuedOn: mysqlDateTime(assertion.issuedOn) ?? null,
        narrative: text(assertion.narrative, "narrative"),
        evidence_url: text(evidence?.url, "evidence[0].url"),
        evidence_narrative: text(evidence?.narrative, "evidence[0].narrative"),
        revoked: typeof assertion.revoked === "boolean" ? Number(assertion.revoked) : null,
        revocationReason: text(assertion.revocationReason, "revocationReason"),
        acceptance: text(assertion.acceptance, "acceptance"),
        expires: expires ?? null,
        ...shareColumns({
          openBadgeId: assertion.openBadgeId,
          entityId,
          badgeName,
          createdAt: new Date(`${createdAt.replace(" ", "T")}Z`),
          expires: expires ? new Date(`${expires.replace(" ", "T")}Z`) : undefined,
          recipientType: recipient.type,
          recipientEmail: recipient.plaintextIdentity,
          image: assertion.image,
        }),
      },
    };
  } catch (err) {
    return { error: `assertion ${entityId}: ${(err as Error).message}` };
  }
}
