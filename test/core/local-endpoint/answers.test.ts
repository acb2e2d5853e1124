/** What the local endpoint answers a failure with: OpenAI's error shape, the core's code, a status an SDK acts on rightly. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { AttestationError, ChannelError, InputError, ReceiptError } from '../../../src/core/errors.js';
import { failureAnswer, LOCAL_REFUSAL_CODES, LocalRefusal } from '../../../src/core/local-endpoint/answers.js';

type ErrorBody = { error: { code: string; type: string; message: string; untrusted: boolean; param: null } };
const answer = (err: unknown) => {
  const a = failureAnswer(err);
  return { status: a.status, retry: a.headers['x-should-retry'], ...(a.body as ErrorBody).error };
};

describe('failureAnswer', () => {
  it('an untrusted server (attestation, receipt, TLS binding) is 502, untrusted, and not to be retried', () => {
    for (const err of [new AttestationError('PCR_MISMATCH'), new ReceiptError('TRANSCRIPT_MISMATCH'), new ChannelError('TLS_BINDING_MISMATCH')]) {
      const a = answer(err);
      assert.deepEqual([a.status, a.code, a.untrusted, a.retry, a.type], [502, err.code, true, 'false', 'blindbox_untrusted_server']);
    }
  });

  it('the caller\'s audio refused by the core is 400 with its code; the server\'s own 4xx keeps its status, its words quoted after ours', () => {
    assert.deepEqual([answer(new InputError('UNSUPPORTED_AUDIO')).status, answer(new InputError('UNSUPPORTED_AUDIO')).code], [400, 'UNSUPPORTED_AUDIO']);
    const refused = answer(new ChannelError('SERVER_ERROR', 'The server refused the transcription.', { status: 422, serverCode: 'LANGUAGE_UNSUPPORTED', serverMessage: 'English only' }));
    assert.deepEqual([refused.status, refused.code, refused.untrusted], [422, 'SERVER_ERROR', false]);
    assert.match(refused.message, /^The server refused the transcription\. The server said \(unverified\): .*LANGUAGE_UNSUPPORTED: English only/);
  });

  it('unreachable or failing servers are 502 (an SDK may retry), a timeout 504 or a malformed answer 502, neither retried (the server may have the audio), anything unforeseen 500 without details', () => {
    assert.deepEqual([answer(new ChannelError('SERVER_UNREACHABLE')).status, answer(new ChannelError('SERVER_UNREACHABLE')).retry], [502, undefined]);
    assert.deepEqual([answer(new ChannelError('SERVER_ERROR', 'x', { status: 503 })).status], [502]);
    assert.deepEqual([answer(new ChannelError('TIMEOUT')).status, answer(new ChannelError('TIMEOUT')).retry], [504, 'false']);
    assert.deepEqual([answer(new ChannelError('PROTOCOL_ERROR')).status, answer(new ChannelError('PROTOCOL_ERROR')).retry], [502, 'false']);
    const internal = answer(new Error('secret /tmp/path'));
    assert.deepEqual([internal.status, internal.code], [500, 'INTERNAL_ERROR']);
    assert.doesNotMatch(internal.message, /secret/);
  });

  it('the endpoint\'s own refusals: their status, Bearer challenge on 401, Retry-After on 429; README lists every code', async () => {
    const unauthorized = failureAnswer(new LocalRefusal('UNAUTHORIZED', 401));
    assert.deepEqual([unauthorized.status, unauthorized.headers['www-authenticate']], [401, 'Bearer']);
    assert.equal(failureAnswer(new LocalRefusal('BUSY', 429)).headers['retry-after'], '1');
    const readme = await readFile(new URL('../../../../README.md', import.meta.url), 'utf8');
    for (const code of Object.keys(LOCAL_REFUSAL_CODES)) assert.ok(readme.includes(`\`${code}\``), `README lacks ${code}`);
  });
});
