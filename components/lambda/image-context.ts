import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { bundleSoon } from "./bundle";
import { NODE_MAJOR } from "./runtime";
import { BUILD_DIR, REPO_ROOT } from "../../paths";

/** The AWS Lambda base image for the Node.js major every function of the program targets. */
export const LAMBDA_NODE_BASE_IMAGE = `public.ecr.aws/lambda/nodejs:${NODE_MAJOR}`;

export interface ImageContext {
  /**
   * Folder holding the bundle and the Dockerfile: the Docker build context. Relative to the
   * project root, where Pulumi runs the program, so that the image's inputs are the same on
   * every machine.
   */
  dir: string;
  dockerfile: string;
  /** A tag derived from the bundle's bytes: the same source gives the same tag (ECR tags are immutable). */
  tag: string;
}

/**
 * Prepares the build context of a function's container image: its esbuild bundle (built
 * with the program's other bundles) and a Dockerfile on the Lambda Node.js base image.
 */
export function imageContext(handler: string, name: string): pulumi.Output<ImageContext> {
  return pulumi.output(bundleSoon({ handler })).apply((bundle) => {
    const dir = path.join(BUILD_DIR, "images", name);
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(bundle.file, path.join(dir, path.basename(bundle.file)));
    const dockerfile = path.join(dir, "Dockerfile");
    fs.writeFileSync(
      dockerfile,
      [`FROM ${LAMBDA_NODE_BASE_IMAGE}`, `COPY ${path.basename(bundle.file)} \${LAMBDA_TASK_ROOT}/`, `CMD ["${bundle.handler}"]`, ""].join(
        "\n",
      ),
    );
    return { dir: path.relative(REPO_ROOT, dir), dockerfile: path.relative(REPO_ROOT, dockerfile), tag: bundle.sha256.slice(0, 16) };
  });
}
