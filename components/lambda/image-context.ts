import * as fs from "node:fs";
import * as path from "node:path";
import { BUILD_DIR, bundleHandler, REPO_ROOT } from "./bundle";

/** The AWS Lambda base image for Node.js 22, the runtime every function of the program targets. */
export const LAMBDA_NODE_BASE_IMAGE = "public.ecr.aws/lambda/nodejs:22";

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
 * Prepares the build context of a function's container image: its esbuild bundle and a
 * Dockerfile on the Lambda Node.js 22 base image.
 */
export function imageContext(handler: string, name: string): ImageContext {
  const dir = path.join(BUILD_DIR, "images", name);
  const bundle = bundleHandler({ handler, outdir: dir });
  const dockerfile = path.join(dir, "Dockerfile");
  fs.writeFileSync(
    dockerfile,
    [
      `FROM ${LAMBDA_NODE_BASE_IMAGE}`,
      `COPY ${path.basename(bundle.file)} \${LAMBDA_TASK_ROOT}/`,
      `CMD ["${bundle.handler}"]`,
      "",
    ].join("\n"),
  );
  return {
    dir: path.relative(REPO_ROOT, dir),
    dockerfile: path.relative(REPO_ROOT, dockerfile),
    tag: bundle.sha256.slice(0, 16),
  };
}
