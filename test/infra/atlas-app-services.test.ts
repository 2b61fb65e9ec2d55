import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { type AppServicesAppInputs, appServicesAppProvider as provider } from "../../components/atlas/app-services-app";
import { type HttpStub, type RecordedRequest, type StubResponse, startStub } from "../../tooling/local/http-stub";

const PROJECT = "5f0c0ffee0ddba11c0ffee01";

/** A stand-in for the App Services Admin API that keeps apps and services in memory. */
async function fakeAdminApi() {
  const apps = new Map<string, { name: string; services: Map<string, { name: string; type: string; config: unknown }> }>();
  let next = 0;
  const id = () => (0xabc000 + ++next).toString(16).padStart(24, "0");
  let failLink = false;
  const route = (req: RecordedRequest): StubResponse => {
    if (req.method === "POST" && req.path === "/api/admin/v3.0/auth/providers/mongodb-cloud/login") {
      const { username, apiKey } = JSON.parse(req.body);
      // A login endpoint that echoes what it was sent, in its error and as text.
      if (apiKey === "echoed-private-key")
        return { status: 401, body: { error: `invalid key in ${req.body}`, error_code: "InvalidPassword" } };
      if (apiKey === "echoed-as-text") return { status: 500, body: `cannot read ${req.body}` };
      return username === "pub" && apiKey === "priv"
        ? { body: { access_token: "admin-token", refresh_token: "r", user_id: "u", device_id: "d" } }
        : { status: 401, body: { error: "invalid username/password", error_code: "InvalidPassword" } };
    }
    if (req.headers.authorization !== "Bearer admin-token") return { status: 401, body: { error: "invalid session" } };
    const m = req.path.match(/^\/api\/admin\/v3\.0\/groups\/([^/]+)\/apps(?:\/([^/]+))?(?:\/services(?:\/([^/]+))?)?$/);
    if (!m || m[1] !== PROJECT) return { status: 404, body: { error: "not found" } };
    const [, , appId, serviceId] = m;
    const app = appId ? apps.get(appId) : undefined;
    if (req.method === "POST" && !appId) {
      const body = JSON.parse(req.body);
      const newId = id();
      apps.set(newId, { name: body.name, services: new Map() });
      return { status: 201, body: { _id: newId, client_app_id: `${body.name}-abcde`, name: body.name } };
    }
    if (!app) return { status: 404, body: { error: "app not found" } };
    if (req.method === "POST" && req.path.endsWith("/services")) {
      if (failLink) return { status: 400, body: { error: "cluster not found", error_code: "ClusterNotFound" } };
      const body = JSON.parse(req.body);
      const newId = id();
      app.services.set(newId, body);
      return { status: 201, body: { _id: newId, name: body.name, type: body.type } };
    }
    if (req.method === "GET" && serviceId) {
      const service = app.services.get(serviceId);
      return service
        ? { body: { _id: serviceId, name: service.name, type: service.type } }
        : { status: 404, body: { error: "service not found" } };
    }
    if (req.method === "GET") return { body: { _id: appId, client_app_id: `${app.name}-abcde`, name: app.name } };
    if (req.method === "DELETE") {
      apps.delete(appId);
      return { status: 204 };
    }
    return { status: 405 };
  };
  const stub = await startStub(route);
  return { stub, apps, failLinkNext: (v: boolean) => (failLink = v) };
}

describe("Atlas App Services app (dynamic provider)", () => {
  let api: Awaited<ReturnType<typeof fakeAdminApi>>;
  let stub: HttpStub;
  let inputs: AppServicesAppInputs;

  before(async () => {
    api = await fakeAdminApi();
    stub = api.stub;
  });
  after(() => stub.close());
  beforeEach(() => {
    api.apps.clear();
    api.failLinkNext(false);
    stub.requests.length = 0;
    inputs = {
      adminApiUrl: `${stub.url}/api/admin/v3.0`,
      projectId: PROJECT,
      appName: "lessons-dev",
      clusterName: "freecodecamp-dev",
      providerRegion: "aws-eu-west-2",
      publicKey: "pub",
      privateKey: "priv",
    };
  });

  it("creates the app in the project and links the cluster as its data source", async () => {
    const { id, outs } = await provider.create(inputs);
    assert.equal(outs?.appId, id);
    assert.ok(outs?.clusterServiceId);
    assert.equal(outs?.clientAppId, "lessons-dev-abcde");

    const login = stub.to("POST", "/api/admin/v3.0/auth/providers/mongodb-cloud/login")[0];
    assert.deepEqual(JSON.parse(login.body), { username: "pub", apiKey: "priv" });
    const create = stub.to("POST", `/api/admin/v3.0/groups/${PROJECT}/apps`)[0];
    assert.equal(create.query.get("product"), "atlas");
    assert.deepEqual(JSON.parse(create.body), { name: "lessons-dev", deployment_model: "LOCAL", provider_region: "aws-eu-west-2" });
    const link = stub.to("POST", `/api/admin/v3.0/groups/${PROJECT}/apps/${id}/services`)[0];
    assert.deepEqual(JSON.parse(link.body), { name: "mongodb-atlas", type: "mongodb-atlas", config: { clusterName: "freecodecamp-dev" } });
    assert.equal(link.headers.authorization, "Bearer admin-token");
  });

  it("reads the app back, and reports it gone once deleted", async () => {
    const { id, outs } = await provider.create(inputs);
    const read = await provider.read!(id, outs!);
    assert.equal(read.id, id);
    assert.equal(read.props?.clusterServiceId, outs?.clusterServiceId);

    await provider.delete!(id, outs!);
    assert.equal(stub.to("DELETE", `/api/admin/v3.0/groups/${PROJECT}/apps/${id}`).length, 1);
    assert.equal(api.apps.size, 0);
    assert.deepEqual(await provider.read!(id, outs!), {});
  });

  it("deletes an app that is already gone without failing", async () => {
    const { id, outs } = await provider.create(inputs);
    api.apps.clear();
    await provider.delete!(id, outs!);
  });

  it("removes the new app when linking the cluster fails, and names Atlas's error", async () => {
    api.failLinkNext(true);
    await assert.rejects(provider.create(inputs), /link cluster answered HTTP 400: cluster not found \(ClusterNotFound\)/);
    assert.equal(api.apps.size, 0);
  });

  it("fails a refused login without showing the key", async () => {
    await assert.rejects(provider.create({ ...inputs, privateKey: "wrong-private-key" }), (err: Error) => {
      assert.match(err.message, /log in answered HTTP 401: invalid username\/password/);
      assert.ok(!err.message.includes("wrong-private-key"));
      return true;
    });
  });

  it("never shows the key when the login endpoint echoes it: in its error field, or as text", async () => {
    for (const privateKey of ["echoed-private-key", "echoed-as-text"]) {
      await assert.rejects(provider.create({ ...inputs, privateKey }), (err: Error) => {
        assert.ok(!err.message.includes(privateKey), err.message);
        assert.match(err.message, /log in answered HTTP (401: invalid key in .*\[redacted\].* \(InvalidPassword\)|500)$/);
        return true;
      });
    }
  });

  it("keeps Atlas's error text once Pulumi has serialized the provider, as `pulumi up` runs it", async function () {
    this.timeout(30_000);
    // The dynamic provider runs from Pulumi's serialized copy of the module, not from this import.
    const serialized = await pulumi.runtime.serializeFunction(() => provider, { isFactoryFunction: true });
    const module = { exports: {} as Record<string, typeof provider> };
    new Function("module", "exports", "require", serialized.text)(module, module.exports, require);
    const shipped = module.exports[serialized.exportName];
    await assert.rejects(shipped.create({ ...inputs, privateKey: "wrong" }), (err: Error) => {
      assert.equal(err.message, "Atlas App Services Admin API: log in answered HTTP 401: invalid username/password (InvalidPassword)");
      assert.equal(err.name, "AdminApiError");
      assert.equal((err as { status?: number }).status, 401);
      return true;
    });
  });

  it("replaces the app when its identity changes, and updates in place for a new key", async () => {
    const { id, outs } = await provider.create(inputs);
    const renamed = await provider.diff!(id, outs!, { ...inputs, appName: "lessons-dev-2" });
    assert.deepEqual(renamed.replaces, ["appName"]);
    const rekeyed = await provider.diff!(id, outs!, { ...inputs, privateKey: "rotated" });
    assert.deepEqual(rekeyed, { changes: true, replaces: [], deleteBeforeReplace: false });
    const updated = await provider.update!(id, outs!, { ...inputs, privateKey: "rotated" });
    assert.equal(updated.outs?.privateKey, "rotated");
    assert.equal(updated.outs?.appId, id);
    assert.deepEqual(await provider.diff!(id, outs!, inputs), { changes: false, replaces: [], deleteBeforeReplace: false });
  });
});
