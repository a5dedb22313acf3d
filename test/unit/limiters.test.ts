import should from 'should';
import { RateLimiter } from '../../nodes/core/http/rate-limiter';

describe('request limiters', () => {
  it('lets a second of requests through at once, then paces the rest', async () => {
    const limiter = new RateLimiter(1200); // 20 a second
    const start = Date.now();
    const granted: number[] = [];
    await Promise.all(Array.from({ length: 30 }, () => limiter.acquire().then(() => granted.push(Date.now() - start))));
    const immediate = granted.filter((ms) => ms < 30).length;
    should(immediate).equal(20);
    // the other 10 come at 20 a second: the last no sooner than ~500 ms
    should(Math.max(...granted)).be.within(450, 1500);
    limiter.close(new Error('closed'));
  });

  it('with a limit of 0, never waits', async () => {
    const limiter = new RateLimiter(0);
    const start = Date.now();
    await Promise.all(Array.from({ length: 1000 }, () => limiter.acquire()));
    should(Date.now() - start).be.below(100);
  });

  it('releases waiters on abort and on close, leaving nothing pending', async () => {
    const limiter = new RateLimiter(60); // capacity 1
    await limiter.acquire();
    const abort = new AbortController();
    const aborted = limiter.acquire(abort.signal);
    const closed = limiter.acquire();
    abort.abort(new Error('stop'));
    await should(aborted).be.rejectedWith('stop');
    limiter.close(new Error('node closed'));
    await should(closed).be.rejectedWith('node closed');
    await should(limiter.acquire()).be.rejectedWith('node closed');
  });
});
