import should from 'should';
import { checkCancelAfter } from '../../nodes/core/predictions';

describe('Cancel-After durations', () => {
  it('accepts the forms Replicate documents', () => {
    for (const value of ['30s', '90s', '5m', '2h30m', '1h30m45s', '30']) should(checkCancelAfter(value)).equal(value);
  });
  it('rejects what Replicate would refuse, naming the field', () => {
    should(() => checkCancelAfter('4s')).throw(/cancel after must be at least 5 seconds/);
    should(() => checkCancelAfter('soon')).throw(/cancel after must be a duration such as "90s"/);
    should(() => checkCancelAfter('5 m')).throw(/must be a duration/);
  });
});
