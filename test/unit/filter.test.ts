// The output filter (SPEC.md step 3): natural end, cut at the stop, leading 'Assistant:', non-empty.
import { cutAtLastSentence, filterOutput } from '../../src/pipeline/filter.js';
import { DIALOGUE_STOP, STORY_STOP } from '../../src/tasks/stop-rules.js';

const SHORT_STORY = { ...STORY_STOP, truncated: 'cut-at-sentence' as const };

describe('filterOutput', () => {
  test('a response that reached the next Human turn is cut before it and stripped', () => {
    expect(filterOutput(' Sure, here you go.\nLine two.\n\nHuman: thanks', 'stop', DIALOGUE_STOP)).toEqual({ ok: true, text: 'Sure, here you go.\nLine two.' });
    expect(filterOutput(' Fine.\nHuman: ok', 'stop', DIALOGUE_STOP)).toEqual({ ok: true, text: 'Fine.' });
  });

  test('EOS is a natural end too', () => {
    expect(filterOutput(' I cannot help with that. ', 'eos', DIALOGUE_STOP)).toEqual({ ok: true, text: 'I cannot help with that.' });
  });

  test('running out of tokens drops the output (the paper), or cuts at the last sentence when the rule says so', () => {
    expect(filterOutput('It was a sunny day and', 'length', DIALOGUE_STOP)).toEqual({ ok: false, reason: 'unfinished' });
    expect(filterOutput('Sue smiled. "Hi!" she said. Then she', 'length', SHORT_STORY)).toEqual({ ok: true, text: 'Sue smiled. "Hi!" she said.' });
    expect(filterOutput('no sentence end here', 'length', SHORT_STORY)).toEqual({ ok: false, reason: 'unfinished' });
  });

  test('a leading Assistant: is stripped; one later on is kept', () => {
    expect(filterOutput(' Assistant: Hello there.\n\nHuman:', 'stop', DIALOGUE_STOP)).toEqual({ ok: true, text: 'Hello there.' });
    expect(filterOutput(' I said "Assistant: go".', 'eos', DIALOGUE_STOP)).toEqual({ ok: true, text: 'I said "Assistant: go".' });
    // Story outputs are not dialogues.
    expect(filterOutput('Assistant: the end.', 'eos', STORY_STOP)).toEqual({ ok: true, text: 'Assistant: the end.' });
  });

  test('nothing left is "empty": blank, only whitespace, or only the Assistant: marker', () => {
    expect(filterOutput('', 'eos', STORY_STOP)).toEqual({ ok: false, reason: 'empty' });
    expect(filterOutput('  \n \n\nHuman: hi', 'stop', DIALOGUE_STOP)).toEqual({ ok: false, reason: 'empty' });
    expect(filterOutput(' Assistant:\n', 'eos', DIALOGUE_STOP)).toEqual({ ok: false, reason: 'empty' });
  });

  test('a story ends at the end marker the 656K model writes before EOS', () => {
    expect(filterOutput('They were happy.<|end_story|>', 'stop', STORY_STOP)).toEqual({ ok: true, text: 'They were happy.' });
  });

  test('the earliest stop string wins when several occur', () => {
    const rule = { ...DIALOGUE_STOP, stop: ['\nHuman', '###'] };
    expect(filterOutput('a ### b\nHuman: c', 'stop', rule)).toEqual({ ok: true, text: 'a' });
  });

  test('cutAtLastSentence keeps closing quotes and brackets', () => {
    expect(cutAtLastSentence('He said, "Go home." And then')).toBe('He said, "Go home."');
    expect(cutAtLastSentence('(It rained!) and')).toBe('(It rained!)');
    expect(cutAtLastSentence('nothing')).toBe('');
  });
});
