import should from 'should';
import { errorFromNetwork, errorFromResponse, redactSecrets } from '../../nodes/core/http/errors';

describe('error sentences a non-programmer can act on', () => {
  it('names the cause for each status Replicate uses', () => {
    const say = (status: number, body: object | string, what = 'the prediction "abc"') =>
      errorFromResponse(status, {}, typeof body === 'string' ? body : JSON.stringify(body), what).message;

    should(say(401, { title: 'Unauthenticated', detail: 'You did not pass a valid authentication token', status: 401 })).equal(
      'Replicate rejected the token (401): You did not pass a valid authentication token. Check the API token in the Replicate account.',
    );
    should(say(402, { title: 'Insufficient credit', detail: 'You have insufficient credit to run this model.' })).equal(
      'Billing is required on this Replicate account (402): You have insufficient credit to run this model.',
    );
    should(say(404, { detail: 'Not found.' })).equal('Replicate could not find the prediction "abc" (404)');
    should(
      say(422, {
        title: 'Input validation failed',
        detail: '- input: prompt is required\n',
        invalid_fields: [{ type: 'required', field: 'input', description: 'prompt is required' }],
      }),
    ).equal('Input validation failed: prompt is required');
    should(say(422, { detail: '- input: prompt is required\n- input.width: Must be less than or equal to 1440\n' })).equal(
      'Input validation failed: prompt is required; input.width: Must be less than or equal to 1440',
    );
    should(say(429, { detail: 'Request was throttled. Your rate limit resets in ~30s.' })).equal(
      'Replicate is rate limiting this account (429): Request was throttled. Your rate limit resets in ~30s.',
    );
    should(say(502, '<html><body>Bad gateway</body></html>')).equal('Replicate had a server error (HTTP 502)');
    should(say(418, { title: 'Teapot' })).equal('Replicate answered HTTP 418: Teapot');
  });

  it('explains transport failures without internals', () => {
    const refused = errorFromNetwork(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), '127.0.0.1:9', 30_000);
    should(refused.message).equal('Could not reach Replicate at 127.0.0.1:9: the connection was refused (ECONNREFUSED)');
    const timeout = errorFromNetwork(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 'h', 30_000);
    should(timeout.message).equal('Replicate did not answer within 30 s');
    const nested = errorFromNetwork(
      new TypeError('fetch failed', { cause: Object.assign(new Error('dns'), { code: 'ENOTFOUND' }) }),
      'api.example',
      1000,
    );
    should(nested.message).match(/the host name could not be resolved \(ENOTFOUND\)/);
  });

  it('removes a secret from text before any error is built from it', () => {
    should(redactSecrets('bad token r8_abcdef in header r8_abcdef', ['r8_abcdef'])).equal('bad token [redacted] in header [redacted]');
    should(redactSecrets('nothing here', [undefined, ''])).equal('nothing here');
  });
});
