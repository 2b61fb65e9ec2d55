/**
 * The few calls of the Atlas App Services Admin API (v3.0) that the mongodbatlas provider
 * cannot make: log in with a programmatic API key, create an app, link a cluster as its
 * data source, read them back and delete the app.
 *
 * This module runs inside a Pulumi dynamic provider, which Pulumi serializes with the
 * functions it calls: it uses only the global fetch and nothing from the Pulumi SDK.
 */

export interface AdminApiKey {
  publicKey: string;
  privateKey: string;
}

export interface AppServicesApp {
  _id: string;
  client_app_id: string;
  name: string;
}

export interface AppServicesService {
  _id: string;
  name: string;
  type: string;
}

/** A non-2xx answer of the Admin API, with Atlas's own error text (never the credentials). */
export interface AdminApiError extends Error {
  name: "AdminApiError";
  status: number;
  operation: string;
}

/**
 * Builds an AdminApiError. It is a plain Error with fields, not a subclass: Pulumi serializes
 * this module into the dynamic provider, and a serialized Error subclass loses its message
 * (`pulumi up` would show "[object Object]").
 */
export function adminApiError(status: number, operation: string, detail: string): AdminApiError {
  const error = new Error(`Atlas App Services Admin API: ${operation} answered HTTP ${status}${detail ? `: ${detail}` : ""}`);
  return Object.assign(error, { name: "AdminApiError" as const, status, operation });
}

async function call<T>(
  baseUrl: string,
  operation: string,
  method: string,
  path: string,
  /** `secret`: a credential the request carries, which its answer may echo: it is never told, nor any text of the answer but Atlas's error fields. */
  options: { token?: string; body?: unknown; allow404?: boolean; secret?: string } = {},
): Promise<T | undefined> {
  const response = await fetch(`${baseUrl.replace(/\/+$/, "")}${path}`, {
    method,
    headers: {
      accept: "application/json",
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(30_000),
  });
  if (response.status === 404 && options.allow404) return undefined;
  const text = await response.text();
  if (!response.ok) {
    let detail = options.secret ? "" : text.slice(0, 300);
    try {
      const parsed = JSON.parse(text) as { error?: string; error_code?: string };
      if (parsed.error) detail = parsed.error_code ? `${parsed.error} (${parsed.error_code})` : parsed.error;
    } catch {
      // Not JSON: keep the text, unless the request carried a secret.
    }
    throw adminApiError(response.status, operation, options.secret ? detail.split(options.secret).join("[redacted]") : detail);
  }
  return (text ? JSON.parse(text) : {}) as T;
}

/** Exchanges the programmatic API key pair for an access token. */
export async function login(baseUrl: string, key: AdminApiKey): Promise<string> {
  const body = await call<{ access_token?: string }>(baseUrl, "log in", "POST", "/auth/providers/mongodb-cloud/login", {
    body: { username: key.publicKey, apiKey: key.privateKey },
    secret: key.privateKey,
  });
  if (!body?.access_token) throw adminApiError(200, "log in", "no access_token in the answer");
  return body.access_token;
}

/** Creates a trigger app (product `atlas`) deployed in one region. */
export async function createApp(
  baseUrl: string,
  token: string,
  projectId: string,
  app: { name: string; providerRegion: string },
): Promise<AppServicesApp> {
  const created = await call<AppServicesApp>(baseUrl, "create app", "POST", `/groups/${projectId}/apps?product=atlas`, {
    token,
    body: { name: app.name, deployment_model: "LOCAL", provider_region: app.providerRegion },
  });
  return created!;
}

/** Links a cluster to the app as its `mongodb-atlas` data source. */
export async function linkCluster(
  baseUrl: string,
  token: string,
  projectId: string,
  appId: string,
  clusterName: string,
): Promise<AppServicesService> {
  const service = await call<AppServicesService>(baseUrl, "link cluster", "POST", `/groups/${projectId}/apps/${appId}/services`, {
    token,
    body: { name: "mongodb-atlas", type: "mongodb-atlas", config: { clusterName } },
  });
  return service!;
}

export function getApp(baseUrl: string, token: string, projectId: string, appId: string): Promise<AppServicesApp | undefined> {
  return call<AppServicesApp>(baseUrl, "get app", "GET", `/groups/${projectId}/apps/${appId}`, { token, allow404: true });
}

export function getService(
  baseUrl: string,
  token: string,
  projectId: string,
  appId: string,
  serviceId: string,
): Promise<AppServicesService | undefined> {
  return call<AppServicesService>(baseUrl, "get service", "GET", `/groups/${projectId}/apps/${appId}/services/${serviceId}`, {
    token,
    allow404: true,
  });
}

/** Deletes the app and everything in it (its data source and triggers). An app already gone is fine. */
export async function deleteApp(baseUrl: string, token: string, projectId: string, appId: string): Promise<void> {
  await call(baseUrl, "delete app", "DELETE", `/groups/${projectId}/apps/${appId}`, { token, allow404: true });
}
