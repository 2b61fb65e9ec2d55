/**
 * The three upstream services of the Skill App: Airtable (assessments), Badgr (badge
 * classes and assertions) and GitHub (template archives). Paged lists stop, and fail their
 * source with a clear reason, when a page repeats a cursor already seen or when they pass a
 * page cap: upstream data can never make the sync loop.
 */
import { TimeBudget } from "../lib/budget";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, requestWithRetry } from "../lib/http";

export interface AirtableRecord {
  id: string;
  fields: Record<string, unknown>;
}

/** The token a request is sent with: `send` may be called again with a token read anew. */
export type WithToken = <T>(send: (token: string) => Promise<T>) => Promise<T>;

/**
 * Follows a paged list, yielding each page's items as it arrives (the pages are never all
 * held at once): `next` gives the cursor of the following page, or undefined at the end.
 */
async function* paged<T>(
  what: string,
  maxPages: number,
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; next?: string }>,
): AsyncGenerator<T[]> {
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let page = 1; ; page++) {
    const result = await fetchPage(cursor);
    if (result.next && seen.has(result.next))
      throw new Error(
        `${what}: page ${page} repeats the cursor ${JSON.stringify(result.next)} of an earlier page; stopped instead of looping`,
      );
    if (result.next && page >= maxPages) throw new Error(`${what}: more than ${maxPages} pages; stopped at the page cap`);
    yield result.items;
    if (!result.next) return;
    seen.add(result.next);
    cursor = result.next;
  }
}

/** The records of an Airtable table, page by page, following `offset`. */
export function airtablePages(
  options: { apiUrl: string; baseId: string; table: string; maxPages: number },
  withToken: WithToken,
  retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  budget: TimeBudget = TimeBudget.unbounded(),
): AsyncGenerator<AirtableRecord[]> {
  return paged(`Airtable ${options.table}`, options.maxPages, async (offset) => {
    const url = new URL(`${options.apiUrl.replace(/\/+$/, "")}/${options.baseId}/${encodeURIComponent(options.table)}`);
    url.searchParams.set("pageSize", "100");
    if (offset) url.searchParams.set("offset", offset);
    const answer = await withToken((token) =>
      requestWithRetry(url.toString(), { headers: { authorization: `Bearer ${token}` } }, retry, budget),
    );
    const page = JSON.parse(answer.body) as { records?: AirtableRecord[]; offset?: string };
    if (!Array.isArray(page.records)) throw new Error("Airtable answered a page without records");
    return { items: page.records, next: page.offset };
  });
}

export interface BadgrCredentials {
  username: string;
  password: string;
  clientId: string;
  /** The token request's scope (`rw:issuer rw:backpack`). */
  scope: string;
  /** The token request's grant type (`password`). */
  grantType: string;
}

/** A Badgr access token: `POST /o/token/` with the password grant's form fields. Its errors tell nothing of the answer but its status and OAuth error code. */
export async function badgrToken(
  baseUrl: string,
  credentials: BadgrCredentials,
  retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  budget: TimeBudget = TimeBudget.unbounded(),
): Promise<string> {
  const answer = await requestWithRetry(
    `${baseUrl.replace(/\/+$/, "")}/o/token/`,
    {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({
        username: credentials.username,
        password: credentials.password,
        scope: credentials.scope,
        grant_type: credentials.grantType,
        client_id: credentials.clientId,
      }).toString(),
    },
    retry,
    budget,
    // The answer may echo the user name and password it was sent.
    "oauthError",
  );
  let body: { access_token?: unknown } | null;
  try {
    body = JSON.parse(answer.body);
  } catch {
    throw new Error(`Badgr's token endpoint answered HTTP ${answer.status} with a body that is not JSON`);
  }
  if (typeof body?.access_token !== "string" || !body.access_token) throw new Error("Badgr answered without an access_token");
  return body.access_token;
}

/** The `result` list of a Badgr v2 endpoint, page by page, following `Link: <…>; rel="next"`. */
export function badgrPages(
  baseUrl: string,
  path: string,
  token: string,
  maxPages: number,
  retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  budget: TimeBudget = TimeBudget.unbounded(),
): AsyncGenerator<Record<string, unknown>[]> {
  return paged(`Badgr ${path}`, maxPages, async (next) => {
    const answer = await requestWithRetry(
      next ?? `${baseUrl.replace(/\/+$/, "")}${path}`,
      { headers: { authorization: `Bearer ${token}`, accept: "application/json" } },
      retry,
      budget,
    );
    const body = JSON.parse(answer.body) as { result?: Record<string, unknown>[] };
    if (!Array.isArray(body.result)) throw new Error(`Badgr answered ${path} without a result list`);
    return { items: body.result, next: /<([^>]+)>;\s*rel="next"/.exec(String(answer.headers.link ?? ""))?.[1] };
  });
}
