import should from 'should';
import { checkBaseUrl, checkPredictionId, parseDeploymentRef, parseModelRef } from '../../nodes/core/http/identifiers';

const VERSION = '5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa';

describe('identifiers that go into request paths', () => {
  it('reads every model form Replicate accepts', () => {
    should(parseModelRef('black-forest-labs/flux-schnell')).eql({ kind: 'model', owner: 'black-forest-labs', name: 'flux-schnell' });
    should(parseModelRef(`replicate/hello-world:${VERSION}`)).eql({
      kind: 'version',
      version: VERSION,
      model: { owner: 'replicate', name: 'hello-world' },
    });
    should(parseModelRef(` ${VERSION} `)).eql({ kind: 'version', version: VERSION });
    should(parseDeploymentRef('acme/image-gen')).eql({ kind: 'deployment', owner: 'acme', name: 'image-gen' });
  });

  it('refuses anything that could reach another endpoint', () => {
    for (const bad of ['../account', 'owner/name/predictions', 'owner/..', 'a/b?c=d', 'a/b#x', 'a%2Fb/c', 'owner/', '/name', 'a b/c']) {
      should(() => parseModelRef(bad)).throw({ name: 'InputError' });
    }
    should(() => parseModelRef(`owner/name:${VERSION.slice(1)}`)).throw(/model version must be a 64-character version id/);
    for (const bad of ['../account', 'abc/cancel', 'a?b', 'a#b', '%2e%2e', '', ' ', 'x'.repeat(129)]) {
      should(() => checkPredictionId(bad)).throw({ name: 'InputError' });
    }
    should(() => checkPredictionId(42)).throw(/prediction id "42" is not a valid Replicate prediction id/);
    should(() => checkPredictionId(undefined)).throw(/prediction id is missing/);
    should(checkPredictionId('gm3qorzdhgbfurvjtvhg6dckhu')).equal('gm3qorzdhgbfurvjtvhg6dckhu');
  });

  it('sends the token over https only, or over http to this machine', () => {
    should(checkBaseUrl('https://api.replicate.com/v1').host).equal('api.replicate.com');
    should(checkBaseUrl('http://127.0.0.1:8788/v1').port).equal('8788');
    should(() => checkBaseUrl('http://replicate.example.com/v1')).throw(/must start with https/);
    should(() => checkBaseUrl('https://user:pw@api.replicate.com/v1')).throw(/must not contain credentials/);
    should(() => checkBaseUrl('api.replicate.com')).throw(/is not a URL/);
  });
});
