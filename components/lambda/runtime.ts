/**
 * Facts about the Lambda runtime every function of the program targets. Dependency-free: the
 * bundler, the components, the config schema and the policy pack read them from here. Retry
 * bounds have their own module, components/retry-bounds.ts.
 */

/** The Node.js major of the functions: nodejs22.x, esbuild's target, the image's base. */
export const NODE_MAJOR = 22;
export const LAMBDA_RUNTIME = `nodejs${NODE_MAJOR}.x`;
export const LAMBDA_ARCHITECTURE = "arm64";

/** The bounds of an SQS event source mapping's `scalingConfig.maximumConcurrency`. */
export const SQS_MAXIMUM_CONCURRENCY_LIMITS = { min: 2, max: 1000 };
