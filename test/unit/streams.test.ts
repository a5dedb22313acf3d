// The pure parts of streaming and text output: what is left to send after a drop, the message
// sequence a join node reads, when an output is text, and which input a plain string prompt fills.
import should from 'should';
import { outputText, PartsSequence, promptFieldOf, restOf } from '../../nodes/core';

describe('streams and output text', () => {
  it('sends after a drop exactly what the final output holds beyond the text delivered, never what was sent', () => {
    should(restOf(['Hel', 'lo', ' ', 'world'], 'Hello')).equal(' world');
    should(restOf(['Hel', 'lo'], 'Hello')).equal('');
    should(restOf('a whole string', 'a whole')).equal(' string');
    // an output that does not continue the text delivered: nothing rather than a duplicate
    should(restOf(['Goodbye'], 'Hello')).equal('');
    should(restOf(null, '')).equal('');
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
});
