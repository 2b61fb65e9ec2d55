/**
 * handlers/lib/http.ts over node:http: redirects followed as fetch follows them, downloads
 * written to a file, and the retries around both.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { downloadWithRetry, type HttpError, requestWithRetry } from "../../handlers/lib/http";
import { FAST_RETRY, type HttpStub, startStub } from "../../tooling/local/http-stub";

describe("HTTP over node:http (handlers/lib/http.ts)", () => {
  let origin: HttpStub;
  let other: HttpStub;
  let failuresLeft = 0;
  let dir: string;

  before(async () => {
    other = await startStub((req) => ({ body: { path: req.path, authorization: req.headers.authorization ?? null } }));
    origin = await startStub((req) => {
      if (req.path === "/here") return { status: 301, headers: { location: "/there" } };
      if (req.path === "/away") return { status: 302, headers: { location: `${other.url}/elsewhere` } };
      if (req.path === "/loop") return { status: 307, headers: { location: "/loop" } };
      if (req.path === "/flaky-archive") {
        if (failuresLeft-- > 0) return { status: 503, body: "busy" };
        return { status: 302, headers: { location: `${other.url}/archive` } };
      }
      return { body: { path: req.path, method: req.method, authorization: req.headers.authorization ?? null } };
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "http-test-"));
  });
  after(async () => {
    await origin.close();
    await other.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const json = (answer: { body: string }) => JSON.parse(answer.body);
  const auth = { headers: { authorization: "Bearer tok-123456" } };

  it("names itself in every request that does not (fetch sent `node`; some APIs refuse a request without a User-Agent)", async () => {
    await requestWithRetry(`${origin.url}/plain`, {}, FAST_RETRY);
    await requestWithRetry(`${origin.url}/own`, { headers: { "user-agent": "mine" } }, FAST_RETRY);
    assert.equal(origin.to("GET", "/plain")[0].headers["user-agent"], "tributary");
    assert.equal(origin.to("GET", "/own")[0].headers["user-agent"], "mine");
  });

  it("follows a GET's redirect within its origin with its authorization, and to another origin without it", async () => {
    assert.deepEqual(json(await requestWithRetry(`${origin.url}/here`, auth, FAST_RETRY)), {
      path: "/there",
      method: "GET",
      authorization: "Bearer tok-123456",
    });
    assert.deepEqual(json(await requestWithRetry(`${origin.url}/away`, auth, FAST_RETRY)), { path: "/elsewhere", authorization: null });
  });

  it("does not follow a POST's redirect (fetch would; no API here asks for it), and stops a redirect loop after 20 hops", async () => {
    const post = await requestWithRetry(`${origin.url}/here`, { method: "POST", body: "x" }, FAST_RETRY).catch((e: HttpError) => e);
    assert.equal((post as HttpError).status, 301);
    const before = origin.to("GET", "/loop").length;
    const loop = await requestWithRetry(`${origin.url}/loop`, {}, FAST_RETRY).catch((e: HttpError) => e);
    assert.equal((loop as HttpError).status, 307);
    assert.equal(origin.to("GET", "/loop").length - before, 21, "the request and 20 redirects");
  });

  it("downloads to a file through the redirect, retrying a 503 first", async () => {
    failuresLeft = 2;
    const file = path.join(dir, "archive.json");
    await downloadWithRetry(`${origin.url}/flaky-archive`, file, auth, FAST_RETRY);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, "utf8")), { path: "/archive", authorization: null });
    assert.equal(origin.to("GET", "/flaky-archive").length, 3);
  });
});
