import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeControls, jsonText, oneLine, quoteServerText } from '../../src/shared/text.js';

describe('the one sanitiser of foreign text', () => {
  it('escapes every control, separator and bidi character visibly instead of erasing it', () => {
    assert.equal(escapeControls('a\x1b]0;pwned\x07b'), 'a\\x1b]0;pwned\\x07b');
    assert.equal(escapeControls('\u009b8m\u0085\u2028\u2029\u202e\u2066\u200f\ufeff'), '\\u009b8m\\u0085\\u2028\\u2029\\u202e\\u2066\\u200f\\ufeff');
    assert.equal(escapeControls('tab\there\r\n'), 'tab\\there\\r\\n');
    assert.equal(escapeControls('Zoë — 東京, "quoted" \\ back'), 'Zoë — 東京, "quoted" \\ back');
  });

  it('makes one line, bounded, and a quotation that cannot be closed early', () => {
    assert.equal(oneLine('  ok\nVERIFIED  fake\n'), 'ok\\nVERIFIED  fake');
    assert.equal(oneLine('x'.repeat(600)).length, 500);
    assert.equal(quoteServerText('say "hi"\x1b[2K'), '"say \'hi\'\\x1b[2K"');
  });

  it('writes JSON a parser reads back unchanged, with nothing raw a terminal would obey', () => {
    const value = { code: 'X\u009b2J\u202e', key: { '\u009bK': 'v\x7f' }, c0: '\x1b' };
    const text = jsonText(value, 2);
    assert.deepEqual(JSON.parse(text), value);
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
  });
});
