import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTranscript } from '../../../src/core/index.js';
import { receiptStatusLine } from '../../../src/core/transcript-markdown.js';
import { documentLanguage, formatClock, renderTranscriptDocument, wireFormat, type TranscriptProvenance } from '../../../src/extension/transcribe/document.js';

const PCR0 = 'ab'.repeat(48);
const P: TranscriptProvenance = {
  sourceName: 'meeting [draft].wav',
  server: 'https://enclave.example:8443',
  moduleId: 'i-0123-enc0456',
  pcr0: PCR0,
  verifiedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
  policyName: 'production',
  simulation: false,
  receipt: receiptStatusLine('cd'.repeat(32), 'i-0123-enc0456'),
};

const VERBOSE = JSON.stringify({
  text: ' Hello world. <script>alert(1)</script> [click](https://evil.example) ',
  duration: 3725.5,
  language: 'en',
  segments: [
    { start: 0, end: 2.4, text: ' Hello world.' },
    { start: 2.4, end: 3600.2, text: '<script>alert(1)</script> [click](https://evil.example)' },
    { start: 3661.9, end: 3725.5, text: '# not a heading * not emphasis' },
  ],
});

describe('transcript documents', () => {
  it('asks the server for verbose_json when the document is Markdown, else the same format', () => {
    assert.deepEqual((['text', 'markdown', 'srt', 'vtt'] as const).map(wireFormat), ['text', 'verbose_json', 'srt', 'vtt']);
  });

  it('plain text: a header naming file, server, module, PCR0 and verification time, then the text', () => {
    const doc = renderTranscriptDocument('text', parseTranscript('text', 'Hello world.\n'), P);
    assert.equal(doc.language, 'plaintext');
    assert.equal(
      doc.content,
      [
        'Transcript of meeting [draft].wav',
        'Server: https://enclave.example:8443',
        'Enclave module: i-0123-enc0456',
        `PCR0: ${PCR0}`,
        'Verified: 2026-01-02T03:04:05.000Z (policy production)',
        'Receipt verified · audio SHA-256 cdcdcdcdcdcdcdcd… · enclave i-0123-enc0456',
        '',
        'Hello world.',
        '',
      ].join('\n'),
    );
    const sim = renderTranscriptDocument('text', parseTranscript('text', 'x'), { ...P, simulation: true });
    assert.match(sim.content, /^Server: https:\/\/enclave\.example:8443 \(SIMULATION — not confidential\)$/m);
  });

  it('Markdown: heading, provenance list and one timestamped line per segment, with server text made inert', () => {
    const doc = renderTranscriptDocument('markdown', parseTranscript('verbose_json', VERBOSE), P);
    assert.equal(doc.language, 'markdown');
    const lines = doc.content.split('\n');
    assert.equal(lines[0], '# Transcript of meeting \\[draft\\].wav');
    assert.ok(lines.includes('- **Server:** `https://enclave.example:8443`'));
    assert.ok(lines.includes('- **Enclave module:** `i-0123-enc0456`'));
    assert.ok(lines.includes(`- **PCR0:** \`${PCR0}\``));
    assert.ok(lines.includes('- **Verified:** 2026-01-02T03:04:05.000Z (policy `production`)'));
    assert.ok(lines.includes('- **Receipt:** verified · audio SHA-256 cdcdcdcdcdcdcdcd… · enclave i-0123-enc0456'));
    assert.ok(lines.includes('- **Duration:** 1:02:05'));
    assert.ok(lines.includes('- **Language:** `en`'));
    const segments = lines.slice(lines.indexOf('## Transcript') + 2).filter(Boolean);
    assert.deepEqual(segments, [
      '- `[0:00:00]` Hello world.',
      '- `[0:00:02]` \\<script\\>alert\\(1\\)\\</script\\> \\[click\\]\\(https://evil.example\\)',
      '- `[1:01:01]` \\# not a heading \\* not emphasis',
    ]);
    assert.doesNotMatch(doc.content, /(^|[^\\])<script/);
  });

  it('Markdown without segments falls back to the text; short audio uses mm:ss', () => {
    const doc = renderTranscriptDocument('markdown', parseTranscript('verbose_json', JSON.stringify({ text: '1. Start here', segments: [] })), P);
    assert.match(doc.content, /## Transcript\n\n1\\\. Start here\n$/);
    const short = renderTranscriptDocument('markdown', parseTranscript('verbose_json', JSON.stringify({ text: 'a b', segments: [{ start: 61.5, end: 62, text: 'a b' }] })), P);
    assert.match(short.content, /^- `\[01:01\]` a b$/m);
    assert.match(renderTranscriptDocument('markdown', parseTranscript('verbose_json', JSON.stringify({ text: '', segments: [] })), P).content, /\*\(no speech recognised\)\*/);
  });

  it('SRT leads with a one-millisecond cue 0 carrying the provenance and SIMULATION marking, then the server\'s cues unchanged', () => {
    const srt = '1\r\n00:00:00,000 --> 00:00:02,400\r\nHello world.\r\n\r\n2\r\n00:00:02,400 --> 00:00:04,000\r\nAgain.\r\n';
    const doc = renderTranscriptDocument('srt', parseTranscript('srt', srt), { ...P, simulation: true, moduleId: 'evil --> 00:00:09,000' });
    const [cue, ...rest] = doc.content.split('\n\n');
    assert.match(cue!, /^0\n00:00:00,000 --> 00:00:00,001\nTranscript of meeting \[draft\]\.wav\nServer: https:\/\/enclave\.example:8443 \(SIMULATION — not confidential\)\nEnclave module: evil → 00:00:09,000\n/);
    assert.equal(cue!.split('-->').length, 2, 'one timing line in the provenance cue');
    assert.equal(rest.join('\n\n'), '1\n00:00:00,000 --> 00:00:02,400\nHello world.\n\n2\n00:00:02,400 --> 00:00:04,000\nAgain.\n');
    assert.equal(doc.language, 'plaintext');
    assert.equal(renderTranscriptDocument('srt', parseTranscript('srt', srt), P, ['srt']).language, 'srt');
  });

  it('WebVTT carries the provenance in a NOTE block after the header, with no cue marker inside', () => {
    const vtt = 'WEBVTT\n\n00:00:00.000 --> 00:00:02.400\nHello world.\n';
    const doc = renderTranscriptDocument('vtt', parseTranscript('vtt', vtt), { ...P, moduleId: 'evil --> 00:00:00.000' });
    const blocks = doc.content.split('\n\n');
    assert.equal(blocks[0], 'WEBVTT');
    assert.match(blocks[1]!, /^NOTE\nTranscript of meeting \[draft\]\.wav\nServer: https:\/\/enclave\.example:8443\nEnclave module: evil → 00:00:00\.000\nPCR0: /);
    assert.equal(blocks[2], '00:00:00.000 --> 00:00:02.400\nHello world.\n');
    assert.equal(doc.content.split('-->').length - 1, 1, 'only the real cue has a timing line');
  });

  it('picks a subtitle language only when one is installed', () => {
    assert.equal(documentLanguage('vtt'), 'plaintext');
    assert.equal(documentLanguage('vtt', ['webvtt']), 'webvtt');
    assert.equal(documentLanguage('vtt', ['vtt', 'webvtt']), 'vtt');
    assert.equal(documentLanguage('text', ['srt']), 'plaintext');
  });

  it('formats clocks', () => {
    assert.deepEqual([formatClock(0, false), formatClock(59.9, false), formatClock(3599, false), formatClock(3600, true), formatClock(-3, true)], ['00:00', '00:59', '59:59', '1:00:00', '0:00:00']);
  });
});
