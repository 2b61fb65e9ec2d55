import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type Protection, statefulOptions } from "../../components/storage/stateful";

export interface IotaEventBusArgs {
  /** An existing bus (services built on with-iota may already share one), adopted in place; when absent, one is created. */
  existingName?: string;
  /** The stage's protection of the bus. */
  protection: Protection;
}

/** The EventBridge bus that every iota service of the stack listens on and emits to. */
export class IotaEventBus extends pulumi.ComponentResource {
  readonly bus: aws.cloudwatch.EventBus;
  readonly name: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;

  constructor(name: string, args: IotaEventBusArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:iota:EventBus", name, {}, opts);
    this.bus = new aws.cloudwatch.EventBus(
      name,
      { name: args.existingName, description: "CloudEvents of the iota services" },
      statefulOptions(
        args.protection,
        { parent: this },
        args.existingName ? { importId: args.existingName, keep: ["description"] } : undefined,
      ),
    );
    this.name = this.bus.name;
    this.arn = this.bus.arn;
    this.registerOutputs({ name: this.name, arn: this.arn });
  }
}
