// A node's memory of community models named without a version: their latest version is run for
// LATEST_VERSION_MS, then looked up again, so a new version is picked up.
import should from 'should';
import { CommunityModels, LATEST_VERSION_MS } from '../../nodes/core/predictions';

describe("a node's memory of community models", () => {
  const OLD = 'a'.repeat(64);
  const NEW = 'b'.repeat(64);

  it('runs the remembered latest version for 10 minutes, then asks for it again, and says when the version is new', () => {
    should(LATEST_VERSION_MS).equal(10 * 60 * 1000);
    const models = new CommunityModels();
    const t0 = 1_000_000;
    should(models.known('owner/model', t0)).be.undefined(); // not known: created by name first
    should(models.remember('owner/model', OLD, t0)).be.true();
    should(models.known('owner/model', t0 + LATEST_VERSION_MS - 1)).eql({ version: OLD });
    should(models.known('owner/model', t0 + LATEST_VERSION_MS)).eql({}); // a community model whose version is looked up again
    should(models.remember('owner/model', OLD, t0 + LATEST_VERSION_MS)).be.false(); // the same version: nothing to say
    should(models.remember('owner/model', NEW, t0 + 2 * LATEST_VERSION_MS)).be.true();
    should(models.known('owner/model', t0 + 2 * LATEST_VERSION_MS)).eql({ version: NEW });
  });

  it('remembers at most 100 names, whatever the messages name', () => {
    const models = new CommunityModels();
    for (let i = 0; i < 250; i++) models.remember(`owner/model-${i}`, OLD, 0);
    const kept = Array.from({ length: 250 }, (_, i) => models.known(`owner/model-${i}`, 0)).filter(Boolean);
    should(kept.length).be.within(1, 100);
    should(models.known('owner/model-249', 0)).eql({ version: OLD });
  });
});
