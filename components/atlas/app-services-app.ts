/**
 * An Atlas App Services app with a cluster linked as its data source: what an Atlas database
 * trigger needs, and what the mongodbatlas provider cannot create. A Pulumi dynamic provider
 * creates it through the App Services Admin API and deletes it on destroy.
 */
import * as pulumi from "@pulumi/pulumi";
import * as admin from "./admin-api";

export interface AppServicesAppInputs {
  /** Base URL of the Admin API, for example https://services.cloud.mongodb.com/api/admin/v3.0. */
  adminApiUrl: string;
  /** Atlas project (group) id. */
  projectId: string;
  /** App name: starts with a letter; letters, digits, `_` and `-`. */
  appName: string;
  /** The cluster to link as the app's data source. */
  clusterName: string;
  /** Where the app runs, for example `aws-eu-west-2`: the region of the EventBridge bus it feeds. */
  providerRegion: string;
  publicKey: string;
  privateKey: string;
}

export interface AppServicesAppOutputs extends AppServicesAppInputs {
  /** The app's internal id (`_id`): what EventTrigger's `appId` takes. */
  appId: string;
  /** The app's public client app id. */
  clientAppId: string;
  /** Id of the linked cluster's service: what EventTrigger's `configServiceId` takes. */
  clusterServiceId: string;
}

/** Inputs whose change means a different app, so the old one is deleted and a new one created. */
const REPLACING_INPUTS: (keyof AppServicesAppInputs)[] = ["adminApiUrl", "projectId", "appName", "clusterName", "providerRegion"];

export const appServicesAppProvider: pulumi.dynamic.ResourceProvider<AppServicesAppInputs, AppServicesAppOutputs> = {
  async create(inputs) {
    const token = await admin.login(inputs.adminApiUrl, inputs);
    const app = await admin.createApp(inputs.adminApiUrl, token, inputs.projectId, {
      name: inputs.appName,
      providerRegion: inputs.providerRegion,
    });
    let service: admin.AppServicesService;
    try {
      service = await admin.linkCluster(inputs.adminApiUrl, token, inputs.projectId, app._id, inputs.clusterName);
    } catch (err) {
      // Leave nothing half-made behind: an app without its data source is of no use.
      await admin.deleteApp(inputs.adminApiUrl, token, inputs.projectId, app._id).catch(() => undefined);
      throw err;
    }
    return {
      id: app._id,
      outs: { ...inputs, appId: app._id, clientAppId: app.client_app_id, clusterServiceId: service._id },
    };
  },

  async read(id, props) {
    // Pulumi passes the last known outputs; a resource never created has none to read.
    if (!props) return {};
    const token = await admin.login(props.adminApiUrl, props);
    const app = await admin.getApp(props.adminApiUrl, token, props.projectId, id);
    const service = app && (await admin.getService(props.adminApiUrl, token, props.projectId, id, props.clusterServiceId));
    // Either one gone means the resource is gone; `pulumi refresh` then plans to create it again.
    if (!app || !service) return {};
    return { id, props: { ...props, appId: app._id, clientAppId: app.client_app_id, clusterServiceId: service._id } };
  },

  async diff(_id, olds, news) {
    const replaces = REPLACING_INPUTS.filter((k) => olds[k] !== news[k]);
    const keyChanged = olds.publicKey !== news.publicKey || olds.privateKey !== news.privateKey;
    return { changes: replaces.length > 0 || keyChanged, replaces, deleteBeforeReplace: replaces.length > 0 };
  },

  async update(_id, olds, news) {
    // Only the API key can change in place; the app itself is untouched.
    return { outs: { ...olds, publicKey: news.publicKey, privateKey: news.privateKey } };
  },

  async delete(id, props) {
    const token = await admin.login(props.adminApiUrl, props);
    await admin.deleteApp(props.adminApiUrl, token, props.projectId, id);
  },
};

export type AppServicesAppArgs = { [K in keyof AppServicesAppInputs]: pulumi.Input<AppServicesAppInputs[K]> };

/** An App Services app with its linked cluster service, created through the Admin API. */
export class AppServicesApp extends pulumi.dynamic.Resource {
  declare readonly appId: pulumi.Output<string>;
  declare readonly clientAppId: pulumi.Output<string>;
  declare readonly clusterServiceId: pulumi.Output<string>;

  constructor(name: string, args: AppServicesAppArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      appServicesAppProvider,
      name,
      { ...args, appId: undefined, clientAppId: undefined, clusterServiceId: undefined },
      // The key pair is kept in state for read and delete; it stays encrypted there.
      { ...opts, additionalSecretOutputs: ["publicKey", "privateKey"] },
      "atlas",
      "AppServicesApp",
    );
  }
}
