import should from 'should';
import { logProgress } from '../../nodes/core/predictions';

// Logs as Replicate returns them for models that report progress with tqdm.
const SDXL = [
  'Using seed: 31071',
  'Ensuring enough disk space...',
  'Free disk space: 1464722944000',
  'txt2img mode',
  '  0%|          | 0/50 [00:00<?, ?it/s]',
  '  2%|▏         | 1/50 [00:00<00:12,  3.98it/s]',
  ' 44%|████▍     | 22/50 [00:05<00:06,  4.01it/s]',
  '',
].join('\n');

describe('progress from the logs', () => {
  it('reads the last percentage of tqdm lines, one per line', () => {
    should(logProgress(SDXL)).equal(44);
  });

  it('reads a bar rewritten in place with carriage returns', () => {
    const bar =
      '\r  0%|          | 0/4 [00:00<?, ?it/s]\r 25%|██▌       | 1/4 [00:00<00:01,  2.87it/s]\r 75%|███████▌  | 3/4 [00:00<00:00,  6.02it/s]';
    should(logProgress(`Running predict()...\n${bar}`)).equal(75);
    should(logProgress(`${bar}\r100%|██████████| 4/4 [00:00<00:00,  6.54it/s]\nTotal safe images: 1 out of 1\n`)).equal(100);
  });

  it('follows the bar running now when a second one starts, and labelled bars', () => {
    const logs = [
      'Loading pipeline components...: 100%|██████████| 7/7 [00:01<00:00,  5.61it/s]',
      '  0%|          | 0/28 [00:00<?, ?it/s]',
      ' 64%|██████▍   | 18/28 [00:03<00:01,  5.20it/s]',
    ].join('\n');
    should(logProgress(logs)).equal(64);
    should(logProgress('Loading pipeline components...:  43%|████▎     | 3/7 [00:00<00:00,  5.65it/s]')).equal(43);
  });

  it('takes a fraction down to a whole percent, and plain "N% done" lines', () => {
    should(logProgress(' 99.9%|█████████▉| 999/1000')).equal(99);
    should(logProgress('Running black-forest-labs/flux-schnell\n10% done\n20% done\n')).equal(20);
  });

  it('says nothing for logs without a percentage, or with none that is one', () => {
    for (const logs of [undefined, null, '', 'Using seed: 1\nPrompt: 100 cats\n', '% of nothing', 'mode x%', '150%', 'v2%']) {
      should(logProgress(logs)).be.undefined();
    }
    // a number that is no percentage before the last one is skipped
    should(logProgress(' 30%|███ | 3/10\nscale 250%')).equal(30);
  });
});
