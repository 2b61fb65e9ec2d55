/**
 * Stands in for `@smithy/core/event-streams` in the bundles (about 19 KB with its codec). The
 * SDK imports it only for an operation whose input or output is an event stream (S3's
 * SelectObjectContent, Bedrock's streams): no function calls one. If one ever does, it fails
 * here, saying why, rather than with a malformed stream.
 */
const notBundled = (): never => {
  throw new Error(
    "AWS SDK event streams are not bundled (components/lambda/bundle.ts, sdkTrims): remove the trim to call an operation that streams events",
  );
};

export const EventStreamSerde = notBundled;
export const eventStreamSerdeProvider = notBundled;
