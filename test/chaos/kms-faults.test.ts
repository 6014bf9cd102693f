/**
 * Drill: us-1 signs with AWS KMS (the local KMS server, SigV4 and all, through the real SDK); while
 * payments flow, KMS answers ThrottlingException to a run of calls, then stalls a run of them past
 * the signer's request timeout. The SDK retries throttling; what still fails fails the commit, so
 * the us outbox retries the batch later (us has one backend). Nothing is settled unsigned, lost or
 * twice: every us payment settles once KMS answers again.
 */
import { expect } from 'vitest';
import { kmsRequestTimeoutMs } from '../../regional/signer/kms-signer.ts';
import { assertReconciled, drillFlows, runDrill } from './chaos-support.ts';
import { drillSuite } from './drill-suite.ts';

/** Throttled calls: more than the SDK's attempts per call, so some commits fail outright. */
const throttledCalls = 12;
const stalledCalls = 4;

drillSuite('chaos: KMS errors and throttling', 'settles every accepted us payment exactly once through throttled and stalled KMS signing', async ({ faults }) => {
  const requestsBefore = faults.kms.requests.length;
  const throttled = () => faults.kms.requests.slice(requestsBefore).filter((request) => request.errorType === 'ThrottlingException').length;
  const inject = () => {
    faults.kms.throttle(throttledCalls, 'Sign');
    faults.kms.stall(stalledCalls, kmsRequestTimeoutMs * 2);
  };
  const result = await runDrill({ name: 'kms-faults', recoveryFlow: drillFlows[2]!, inject }, () => ({ kms_throttled: throttled(), kms_requests: faults.kms.requests.length - requestsBefore }));
  expect(throttled()).toBe(throttledCalls);
  assertReconciled(result, expect);
});
