/**
 * Shared machinery of the bad-input and fault specs (test/handlers/*-faults.test.ts): the
 * odd values they feed every handler, and a rig of local stand-ins that fail on purpose.
 * Each bad input gets an error that names the field, and the stores are unchanged
 * afterwards; each fault is injected by a local server, the handler retries within bounds
 * and then either succeeds or throws, and a half-done write converges when the event is retried.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { localAwsEnv, setEnv } from "../../tooling/local/aws";
import { type LocalDynamo, startDynalite } from "../../tooling/local/dynamo";
import { type FakeSns, startFakeSns } from "../../tooling/local/fake-sns";
import { type FakeSqs, startFakeSqs } from "../../tooling/local/fake-sqs";
import { type FaultProxy, startFaultProxy } from "../../tooling/local/fault-proxy";
import { PAYLOADS_DIR } from "./fixtures";

/** A captured payload under test/fixtures/payloads, parsed afresh on every call. */
export const fixture = (file: string) => JSON.parse(fs.readFileSync(path.join(PAYLOADS_DIR, file), "utf8"));
/** Larger than any event a handler accepts (262,144 bytes). */
export const OVERSIZED = "x".repeat(300 * 1024);
/** An id that must pass through verbatim: unicode, SQL, HTML, template and MongoDB operator text. */
export const WEIRD_ID = 'ünï\'; DROP TABLE users;-- <script>alert(1)</script> ${x} {"$gt":""}';

export interface BadInput {
  name: string;
  event: unknown;
  error: RegExp;
}

/** The stand-ins of one spec; read their fields inside hooks and tests, once `before` has run. */
export interface FaultRig {
  dynamo: LocalDynamo;
  /** In front of `dynamo`: throttles or drops the requests it is told to. */
  proxy: FaultProxy;
  sqs: FakeSqs;
  sns: FakeSns;
}

/**
 * Starts DynamoDB (behind a fault proxy), SQS and SNS stand-ins for the calling `describe`,
 * points the AWS SDK's SQS endpoint at the stand-in, and clears every fault and message
 * before each test.
 */
export function useFaultRig(): FaultRig {
  const rig = {} as FaultRig;
  let restoreEnv: () => void;
  before(async () => {
    rig.dynamo = await startDynalite();
    rig.proxy = await startFaultProxy(rig.dynamo.endpoint);
    rig.sqs = await startFakeSqs();
    rig.sns = await startFakeSns();
    restoreEnv = setEnv(localAwsEnv({ AWS_ENDPOINT_URL_SQS: rig.sqs.url }));
  });
  after(async () => {
    restoreEnv();
    await Promise.all([rig.proxy.close(), rig.dynamo.close(), rig.sqs.close(), rig.sns.close()]);
  });
  beforeEach(() => {
    rig.proxy.inject({ kind: "throttle" }, 0);
    rig.sqs.failNext(0);
    rig.sns.failNext(0);
    rig.sqs.messages.length = 0;
    rig.sns.published.length = 0;
  });
  return rig;
}
