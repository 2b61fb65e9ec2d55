import * as aws from "@pulumi/aws";
import * as mongodbatlas from "@pulumi/mongodbatlas";
import * as pulumi from "@pulumi/pulumi";
import { type Protection, statefulOptions } from "../storage/stateful";
import { AppServicesApp } from "./app-services-app";

/** What an adopted trigger keeps: its name, and the settings its owner chose that the original does not document. */
export const ADOPTED_TRIGGER_KEEPS = ["name", "disabled", "unordered", "configFullDocumentBefore", "configServiceId"];

/** Atlas names the partner event source, and so the bus, after the trigger's id. */
export const PARTNER_SOURCE_PREFIX = "aws.partner/mongodb.com/stitch.trigger/";

export interface AtlasEventBridgeTriggerArgs {
  /** The Atlas project (group) id that holds the cluster and the App Services app. */
  projectId: string;
  /** The cluster whose collection is watched. */
  clusterName: pulumi.Input<string>;
  /**
   * The App Services app and its linked cluster service, when they exist already.
   * @default none: an app named `appName` is created through the Admin API at `adminApiUrl`.
   */
  existingApp?: { appId: string; clusterServiceId: string };
  /** The name of the App Services app the stack creates when there is no `existingApp`. */
  appName: pulumi.Input<string>;
  /** The Atlas Admin API's base URL, through which the app is created. */
  adminApiUrl: pulumi.Input<string>;
  /** The Atlas programmatic API key pair, from config secrets. */
  apiKey: { publicKey: pulumi.Input<string>; privateKey: pulumi.Input<string> };
  /** The trigger's name inside the app. */
  triggerName: pulumi.Input<string>;
  /** The database of the watched collection. */
  database: pulumi.Input<string>;
  /** The watched collection. */
  collection: pulumi.Input<string>;
  /** Change types that fire the trigger: INSERT, UPDATE, REPLACE, DELETE. */
  operationTypes: string[];
  /** Deliver the whole document with each change (before `project` trims it). */
  fullDocument: boolean;
  /** `$match` on the change event: only matching changes are sent. @default none: every change is sent (an adopted trigger keeps its own). */
  match?: Record<string, unknown>;
  /** `$project` on the change event: what the event carries (EventBridge caps an event at 256 KB). */
  project: Record<string, unknown>;
  /** Days the bus's archive keeps events for replay. */
  archiveRetentionDays: number;
  /** The stage's protection of the partner event bus and its archive. */
  protection: Protection;
  /**
   * An existing trigger of `existingApp` to adopt in place, with the partner bus named after
   * it: events keep flowing through the move, and no new partner source has to be accepted.
   * @default none: the stack creates the trigger, and Atlas a new partner event source.
   */
  existingTriggerId?: string;
}

/** Where the trigger sends its events: the AWS account and region of the provider. */
interface Destination {
  accountId: pulumi.Input<string>;
  region: pulumi.Output<string>;
}

/**
 * An Atlas database trigger that sends changes to AWS EventBridge, the partner event bus
 * that receives them, and an archive on that bus so that events can be replayed after an
 * outage. The AWS account and region come from the AWS provider.
 */
export class AtlasEventBridgeTrigger extends pulumi.ComponentResource {
  readonly app?: AppServicesApp;
  readonly trigger: mongodbatlas.EventTrigger;
  readonly eventBus: aws.cloudwatch.EventBus;
  readonly archive: aws.cloudwatch.EventArchive;
  readonly triggerId: pulumi.Output<string>;
  readonly eventBusName: pulumi.Output<string>;
  readonly appId: pulumi.Output<string>;

  constructor(name: string, args: AtlasEventBridgeTriggerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:atlas:EventBridgeTrigger", name, {}, opts);
    const destination: Destination = {
      accountId: aws.getCallerIdentityOutput({}, { parent: this }).accountId,
      region: aws.getRegionOutput({}, { parent: this }).region,
    };

    if (!args.existingApp) this.app = this.createApp(name, args, destination.region);
    const { appId, clusterServiceId } = args.existingApp ?? { appId: this.app!.appId, clusterServiceId: this.app!.clusterServiceId };
    this.appId = pulumi.output(appId);

    const adopted = args.existingTriggerId !== undefined;
    if (adopted && !args.existingApp) throw new Error(`${name}: an adopted trigger needs the existing app that holds it`);
    this.trigger = this.createTrigger(name, args, { appId, clusterServiceId }, destination);
    this.triggerId = this.trigger.triggerId;
    this.eventBus = this.createEventBus(name, args);
    this.eventBusName = this.eventBus.name;
    this.archive = this.createArchive(name, args);

    this.registerOutputs({ triggerId: this.triggerId, eventBusName: this.eventBusName, appId: this.appId });
  }

  /** The App Services app that holds the trigger, with its link to the cluster, created through the Admin API. */
  private createApp(name: string, args: AtlasEventBridgeTriggerArgs, region: pulumi.Output<string>): AppServicesApp {
    return new AppServicesApp(
      `${name}-app`,
      {
        adminApiUrl: args.adminApiUrl,
        projectId: args.projectId,
        appName: args.appName,
        clusterName: args.clusterName,
        // The app runs next to the bus it feeds.
        providerRegion: pulumi.interpolate`aws-${region}`,
        publicKey: args.apiKey.publicKey,
        privateKey: args.apiKey.privateKey,
      },
      { parent: this },
    );
  }

  /** The database trigger, sending each matching change to EventBridge in the provider's account and region. */
  private createTrigger(
    name: string,
    args: AtlasEventBridgeTriggerArgs,
    app: { appId: pulumi.Input<string>; clusterServiceId: pulumi.Input<string> },
    destination: Destination,
  ): mongodbatlas.EventTrigger {
    return new mongodbatlas.EventTrigger(
      name,
      {
        projectId: args.projectId,
        appId: app.appId,
        name: args.triggerName,
        type: "DATABASE",
        disabled: false,
        unordered: false,
        configServiceId: app.clusterServiceId,
        configDatabase: args.database,
        configCollection: args.collection,
        configOperationTypes: args.operationTypes,
        configFullDocument: args.fullDocument,
        configFullDocumentBefore: false,
        configMatch: args.match && JSON.stringify(args.match),
        configProject: JSON.stringify(args.project),
        eventProcessors: { awsEventbridge: { configAccountId: destination.accountId, configRegion: destination.region } },
      },
      // An adopted trigger keeps its name and what its owner set in the Atlas UI beyond what
      // the original's README documents; the stack never deletes it.
      args.existingTriggerId !== undefined
        ? statefulOptions(
            args.protection,
            { parent: this },
            {
              // The provider's import id: project, app and trigger, joined by double hyphens.
              importId: `${args.projectId}--${args.existingApp!.appId}--${args.existingTriggerId}`,
              keep: [...ADOPTED_TRIGGER_KEEPS, ...(args.match ? [] : ["configMatch"])],
            },
            true,
          )
        : { parent: this },
    );
  }

  /**
   * The partner event bus. Atlas creates the partner event source when the trigger is
   * created; the bus that accepts it must carry the source's exact name.
   */
  private createEventBus(name: string, args: AtlasEventBridgeTriggerArgs): aws.cloudwatch.EventBus {
    const adopted = args.existingTriggerId !== undefined;
    const sourceName = adopted
      ? pulumi.output(`${PARTNER_SOURCE_PREFIX}${args.existingTriggerId}`)
      : pulumi.interpolate`${PARTNER_SOURCE_PREFIX}${this.trigger.triggerId}`;
    return new aws.cloudwatch.EventBus(
      `${name}-bus`,
      { name: sourceName, eventSourceName: sourceName },
      statefulOptions(
        args.protection,
        { parent: this, dependsOn: [this.trigger] },
        // AWS never reports a bus's event source, so an import takes it as the program has it.
        adopted ? { importId: `${PARTNER_SOURCE_PREFIX}${args.existingTriggerId}`, keep: ["eventSourceName"] } : undefined,
      ),
    );
  }

  /** The bus's archive: the only copy of events that arrived while the rule was paused or failing. */
  private createArchive(name: string, args: AtlasEventBridgeTriggerArgs): aws.cloudwatch.EventArchive {
    return new aws.cloudwatch.EventArchive(
      `${name}-archive`,
      {
        eventSourceArn: this.eventBus.arn,
        retentionDays: args.archiveRetentionDays,
        description: "Every event of the partner bus, for replay after an outage",
      },
      statefulOptions(args.protection, { parent: this }, undefined, true),
    );
  }
}
