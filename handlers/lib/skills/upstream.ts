/**
 * The three upstream services of the Skill App: Airtable (assessments), Badgr (badge
 * classes and assertions) and GitHub (template archives).
 */
import { DEFAULT_RETRY_POLICY, fetchWithRetry, type RetryPolicy } from "../http";

export interface AirtableRecord {
  id: string;
  fields: Record<string, unknown>;
}

/** Every record of an Airtable table, following `offset` from page to page. */
export async function listAirtableRecords(
  options: { apiUrl: string; baseId: string; table: string; token: string },
  retry: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<AirtableRecord[]> {
  const records: AirtableRecord[] = [];
  let offset: string | undefined;
  do {
    const url = new URL(`${options.apiUrl.replace(/\/+$/, "")}/${options.baseId}/${encodeURIComponent(options.table)}`);
    url.searchParams.set("pageSize", "100");
    if (offset) url.searchParams.set("offset", offset);
    const response = await fetchWithRetry(url.toString(), { headers: { authorization: `Bearer ${options.token}` } }, retry);
    const page = (await response.json()) as { records?: AirtableRecord[]; offset?: string };
    if (!Array.isArray(page.records)) throw new Error("Airtable answered a page without records");
    records.push(...page.records);
    offset = page.offset;
  } while (offset);
  return records;
}

export interface BadgrCredentials {
  username: string;
  password: string;
  clientId: string;
}

/** A Badgr access token from the OAuth2 password grant. */
export async function badgrToken(baseUrl: string, credentials: BadgrCredentials, retry: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<string> {
  const response = await fetchWithRetry(
    `${baseUrl.replace(/\/+$/, "")}/o/token/`,
    {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({
        grant_type: "password",
        client_id: credentials.clientId,
        username: credentials.username,
        password: credentials.password,
      }).toString(),
    },
    retry,
  );
  const body = (await response.json()) as { access_token?: unknown };
  if (typeof body.access_token !== "string" || !body.access_token) throw new Error("Badgr answered without an access_token");
  return body.access_token;
}

/** The `result` list of a Badgr v2 endpoint, following `Link: <…>; rel="next"` pages. */
export async function badgrList(
  baseUrl: string,
  path: string,
  token: string,
  retry: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let url: string | undefined = `${baseUrl.replace(/\/+$/, "")}${path}`;
  while (url) {
    const response = await fetchWithRetry(url, { headers: { authorization: `Bearer ${token}`, accept: "application/json" } }, retry);
    const body = (await response.json()) as { result?: Record<string, unknown>[] };
    if (!Array.isArray(body.result)) throw new Error(`Badgr answered ${path} without a result list`);
    items.push(...body.result);
    url = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("link") ?? "")?.[1];
  }
  return items;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/**
 * One assertion as a flat item: `recipient` and the first `evidence` become columns, and
 * the share links and embed HTML are built from the badge's name.
 */
export function flattenAssertion(assertion: Record<string, unknown>, badgeNames: Map<string, string>): Record<string, unknown> {
  const { recipient, evidence, ...rest } = assertion as {
    recipient?: Record<string, unknown>;
    evidence?: Record<string, unknown>[];
  } & Record<string, unknown>;
  const firstEvidence = Array.isArray(evidence) ? evidence[0] : undefined;
  const badgeName = badgeNames.get(String(rest.badgeclass)) ?? "";
  const url = String(rest.openBadgeId ?? "");
  const text = `I earned the ${badgeName} badge`;
  const flat: Record<string, unknown> = {
    ...rest,
    recipient_identity: recipient?.identity,
    recipient_type: recipient?.type,
    recipient_hashed: recipient?.hashed,
    recipient_plaintextIdentity: recipient?.plaintextIdentity,
    evidence_url: firstEvidence?.url,
    evidence_narrative: firstEvidence?.narrative,
    badge_name: badgeName,
    linkedin_share_url: `https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name=${encodeURIComponent(badgeName)}&certUrl=${encodeURIComponent(url)}`,
    twitter_share_url: `https://twitter.com/intent/tweet?text=${encodeURIComponent(text)}&url=${encodeURIComponent(url)}`,
    facebook_share_url: `https://www.facebook.com/sharer/sharer.php?u=${encodeURIComponent(url)}`,
    embed_html: `<a href="${escapeHtml(url)}" title="${escapeHtml(badgeName)}"><img src="${escapeHtml(String(rest.image ?? ""))}" alt="${escapeHtml(badgeName)}"></a>`,
  };
  return Object.fromEntries(Object.entries(flat).filter(([, v]) => v !== undefined));
}
