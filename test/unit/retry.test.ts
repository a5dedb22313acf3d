import should from 'should';
import { ReplicateError, errorFromNetwork, errorFromResponse } from '../../nodes/core/http/errors';
import { DEFAULT_RETRY, parseRetryAfter, retryDelayMs, shouldRetry } from '../../nodes/core/http/retry-policy';

const problem = (detail: string) => JSON.stringify({ detail, status: 429 });

describe('retry rules', () => {
  it('reads how long Replicate asks to wait, in its three forms', () => {
    should(parseRetryAfter('7', {}, 0)).equal(7000);
    should(parseRetryAfter(new Date(60_000).toUTCString(), {}, 30_000)).equal(30_000);
    should(parseRetryAfter(undefined, { retry_after: 3 }, 0)).equal(3000);
    should(parseRetryAfter(undefined, { detail: 'Request was throttled. Your rate limit resets in ~30s.' }, 0)).equal(30_000);
    should(parseRetryAfter(undefined, { detail: 'Request was throttled. Expected available in 2 seconds.' }, 0)).equal(2000);
    should(parseRetryAfter(undefined, { detail: 'Request was throttled.' }, 0)).be.undefined();
  });

  it('retries reads and cancels on 429, 5xx and dropped connections', () => {
    const cases = [
      errorFromResponse(429, { 'retry-after': '1' }, problem('slow down'), 'x'),
      errorFromResponse(503, {}, '', 'x'),
      errorFromNetwork(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'h', 1000),
      errorFromNetwork(Object.assign(new Error('t'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 'h', 1000),
    ];
    for (const err of cases) {
      should(shouldRetry('read', err, 0, DEFAULT_RETRY)).be.true();
      should(shouldRetry('cancel', err, 0, DEFAULT_RETRY)).be.true();
      should(shouldRetry('read', err, DEFAULT_RETRY.maxRetries, DEFAULT_RETRY)).be.false();
    }
  });

  it('resends a create only after a 429 or a connection that never opened', () => {
    const refused = errorFromNetwork(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 'h', 1000);
    should(refused.notSent).be.true();
    should(shouldRetry('create', refused, 0, DEFAULT_RETRY)).be.true();
    should(shouldRetry('create', errorFromResponse(429, {}, problem('~1s'), 'x'), 0, DEFAULT_RETRY)).be.true();
    for (const maybeCreated of [
      errorFromResponse(500, {}, '', 'x'),
      errorFromResponse(502, {}, '<html>bad gateway</html>', 'x'),
      errorFromNetwork(Object.assign(new Error('t'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 'h', 1000),
      errorFromNetwork(Object.assign(new Error('s'), { code: 'UND_ERR_SOCKET' }), 'h', 1000),
      errorFromNetwork(Object.assign(new Error('r'), { code: 'ECONNRESET' }), 'h', 1000),
    ]) {
      should(shouldRetry('create', maybeCreated, 0, DEFAULT_RETRY)).be.false();
    }
  });

  it('never retries what cannot succeed, and gives up on an unreasonable Retry-After', () => {
    for (const status of [400, 401, 402, 403, 404, 422]) {
      should(shouldRetry('read', errorFromResponse(status, {}, '', 'x'), 0, DEFAULT_RETRY)).be.false();
    }
    const tooLong = errorFromResponse(429, { 'retry-after': '3600' }, '', 'x');
    should(shouldRetry('read', tooLong, 0, DEFAULT_RETRY)).be.false();
  });

  it('waits as advised on a 429 and backs off exponentially otherwise, within bounds', () => {
    const throttled = errorFromResponse(429, { 'retry-after': '2' }, '', 'x');
    should(retryDelayMs(throttled, 0, DEFAULT_RETRY, () => 0)).equal(2000);
    should(retryDelayMs(throttled, 0, DEFAULT_RETRY, () => 0.999)).be.within(2000, 2500);
    const server = errorFromResponse(500, {}, '', 'x');
    const ceilings = [0, 1, 2, 3, 10].map((attempt) => retryDelayMs(server, attempt, DEFAULT_RETRY, () => 0.999));
    should(ceilings[0]).be.within(250, 500);
    should(ceilings[1]).be.within(500, 1000);
    should(ceilings[3]).be.within(2000, 4000);
    should(ceilings[4]).be.belowOrEqual(DEFAULT_RETRY.maxDelayMs);
    should(retryDelayMs(server, 3, DEFAULT_RETRY, () => 0)).be.aboveOrEqual(DEFAULT_RETRY.baseDelayMs / 2);
  });

  it('keeps ReplicateError fields when rewording', () => {
    const err = errorFromResponse(503, {}, JSON.stringify({ title: 'Service Unavailable' }), 'x').withSentence('network.aborted');
    should(err).be.instanceOf(ReplicateError);
    should(err).match({
      message: 'The request to Replicate was stopped because the node was closed or redeployed',
      key: 'network.aborted',
      status: 503,
      code: 'server',
      retryable: true,
      title: 'Service Unavailable',
    });
  });
});
