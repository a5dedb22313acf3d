// The pure parts of streaming and text output: what is left to send after a drop, the message
// sequence a join node reads, when an output is text, and which input a plain string prompt fills.
import should from 'should';
import {
  ChunkCombiner,
  Delivered,
  FilesSequence,
  isFileStream,
  MAX_HELD_CHARS,
  outputText,
  PartsSequence,
  promptFieldOf,
  StreamHosts,
} from '../../nodes/core';

/** What was delivered of a stream, as follow keeps it: a length and a digest, no copy of the text. */
function delivered(...chunks: string[]): Delivered {
  const kept = new Delivered(1_000_000);
  for (const chunk of chunks) kept.text(chunk);
  return kept;
}

describe('streams and output text', () => {
  it('sends after a drop exactly what the final output holds beyond the text delivered, never what was sent', () => {
    should(delivered('Hel', 'lo').restOf(['Hel', 'lo', ' ', 'world'])).equal(' world');
    should(delivered('Hello').restOf(['Hel', 'lo'])).equal('');
    should(delivered('a who', 'le').restOf('a whole string')).equal(' string');
    // an output that does not continue the text delivered: nothing rather than a duplicate
    should(delivered('Hello').restOf(['Goodbye'])).equal('');
    should(delivered('Hello').restOf(['Jello world'])).equal('');
    should(delivered().restOf(null)).equal('');
  });

  it('fails a stream that sends more than the largest download, counting its bytes', () => {
    const kept = new Delivered(10);
    kept.text('12345');
    should(() => kept.text('äöü')).throw({ key: 'streams.textTooLarge' }); // 6 bytes: 11 in all
  });

  it('sends what the combiner holds once it passes 64 KiB, whatever the window', () => {
    const sent: string[] = [];
    const combiner = new ChunkCombiner(60_000, (text) => sent.push(text));
    const chunk = 'x'.repeat(1000);
    for (let i = 0; i * 1000 <= MAX_HELD_CHARS; i++) combiner.push(chunk);
    should(sent).have.length(1);
    should(sent[0]!.length).be.above(MAX_HELD_CHARS);
    combiner.push('tail');
    combiner.close(); // the node closed: what is held is dropped, the timer with it
    should(sent).have.length(1);
  });

  it('numbers the files of a files stream as a split node numbers an array, and closes without an index', () => {
    const sequence = new FilesSequence('p1');
    should(sequence.next('https://replicate.delivery/a.png')).eql({
      url: 'https://replicate.delivery/a.png',
      parts: { id: 'p1', index: 0, type: 'array' },
    });
    should(sequence.next('https://replicate.delivery/b.png').parts.index).equal(1);
    should(sequence.close()).eql({ parts: { id: 'p1', type: 'array', count: 2 }, complete: true });
    should(sequence.close()).be.undefined();
  });

  it('numbers parts as a split node does, and closes with the count and complete, once', () => {
    const sequence = new PartsSequence('p1', { id: 'outer', index: 3 });
    should(sequence.next(' a')).eql({
      payload: ' a',
      parts: { id: 'p1', index: 0, type: 'string', ch: '', parts: { id: 'outer', index: 3 } },
    });
    should(sequence.next('b').parts.index).equal(1);
    should(sequence.close()).eql({
      payload: '',
      parts: { id: 'p1', index: 2, type: 'string', ch: '', count: 3, parts: { id: 'outer', index: 3 } },
      complete: true,
    });
    should(sequence.close()).be.undefined();
  });

  it('takes a string as text, and a list of strings only when the schema says concatenate', () => {
    should(outputText('text', false)).equal('text');
    should(outputText(['a', ' b'], true)).equal('a b');
    should(outputText(['https://x/1.png'], false)).be.undefined();
    should(outputText([1, 2], true)).be.undefined();
  });

  it("puts a plain string into prompt, else the first required text field that is not a URL, in the model's order", () => {
    const field = (name: string, order: number, extra: Partial<{ type: string; required: boolean; format: string }> = {}) => ({
      name,
      order,
      type: 'string',
      required: true,
      ...extra,
    });
    should(promptFieldOf([field('image', 0, { format: 'uri' }), field('prompt', 1, { required: false })])).equal('prompt');
    should(promptFieldOf([field('transcript', 1), field('audio_file', 0, { format: 'uri' })])).equal('transcript');
    should(promptFieldOf([field('text', 2), field('seed', 0, { type: 'integer' }), field('style', 1, { required: false })])).equal('text');
    should(promptFieldOf([field('image', 0, { format: 'uri' })])).be.undefined();
  });

  it("reads a stream over https from Replicate's hosts, the API's and the listed ones only; plain http only on a local plain-http API's host, any port", () => {
    const real = new StreamHosts(new URL('https://api.replicate.com/v1'), ['cdn.example.com', '*.example.org']);
    for (const url of [
      'https://streaming-api.svc.us.c.replicate.net/v1/streams/abc',
      'https://stream.replicate.com/v1/files/abc',
      'https://api.replicate.com/v1/predictions/x/stream',
      'https://replicate.delivery/x',
      'https://cdn.example.com/s',
      'https://a.example.org/s',
    ])
      should(real.check(url).href).equal(url);
    const refused = (hosts: StreamHosts, url: string) => {
      try {
        hosts.check(url);
      } catch (err) {
        return err as { key: string; vars: { host: string } };
      }
      throw new Error(`${url} was allowed`);
    };
    should(refused(real, 'https://replicate.com.evil.net/s')).match({
      key: 'streams.hostNotAllowed',
      vars: { host: 'replicate.com.evil.net' },
    });
    should(refused(real, 'https://127.0.0.1:8788/s')).match({ key: 'streams.hostNotAllowed', vars: { host: '127.0.0.1' } });
    should(refused(real, 'http://stream.replicate.com/s')).match({ key: 'streams.notHttps', vars: { host: 'stream.replicate.com' } });
    should(refused(real, 'not a url')).match({ key: 'streams.hostNotAllowed' });

    const local = new StreamHosts(new URL('http://127.0.0.1:8788/v1'));
    should(local.check('http://127.0.0.1:9999/v1/streams/abc').port).equal('9999'); // the emulator's stream origin: any port
    should(refused(local, 'http://localhost:8788/s')).match({ key: 'streams.hostNotAllowed', vars: { host: 'localhost' } });
    should(refused(local, 'http://stream.replicate.com/s')).match({ key: 'streams.notHttps' });
  });

  it('tells a files stream by its path, as the official clients do', () => {
    should(isFileStream('https://stream.replicate.com/v1/files/abc')).be.true();
    should(isFileStream('https://streaming-api.svc.us.c.replicate.net/v1/streams/abc')).be.false();
    should(isFileStream('not a url')).be.false();
  });
});
