import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ATTESTATION_ERROR_CODES, AttestationError, BlindBoxError, CHANNEL_ERROR_CODES, ChannelError, InputError, RECEIPT_ERROR_CODES, ReceiptError } from '../../../src/core/errors.js';
import { oneLine } from '../../../src/shared/text.js';
import { EXTENSION_ERROR_CODES, ExtensionError } from '../../../src/extension/common/errors.js';
import { describeFailure, failedCheck, failure, failureFix, shortReason, type FailureCode } from '../../../src/extension/common/failure.js';
import { defuseLinks, notificationText } from '../../../src/extension/common/plain-text.js';

describe('failures shown to people', () => {
  it('keeps the core’s codes and marks attestation failures (and TLS binding) as untrusted', () => {
    assert.deepEqual(describeFailure(new AttestationError('PCR_MISMATCH', 'PCR0 differs.')), { code: 'PCR_MISMATCH', message: 'PCR0 differs.', untrusted: true });
    assert.deepEqual(describeFailure(new ChannelError('TLS_BINDING_MISMATCH')).untrusted, true);
    assert.deepEqual(describeFailure(new ChannelError('SERVER_UNREACHABLE', 'Cannot talk to x.')), { code: 'SERVER_UNREACHABLE', message: 'Cannot talk to x.', untrusted: false });
    assert.equal(describeFailure(new BlindBoxError('SOMETHING', 'm')).code, 'SOMETHING');
  });

  it('names input errors by their code, whatever the phase: the audio file or a setting', () => {
    assert.deepEqual(describeFailure(new InputError('INVALID_AUDIO_FILE', 'the audio file "a.wav" is empty')), { code: 'AUDIO_UNREADABLE', message: 'The audio file "a.wav" is empty.', untrusted: false });
    assert.equal(describeFailure(new InputError('INVALID_AUDIO_FILE', 'cannot read x')).code, 'AUDIO_UNREADABLE');
    assert.equal(describeFailure(new InputError('INVALID_URL', 'bad url')).code, 'SETTINGS_INVALID');
    assert.equal(describeFailure(new InputError('INVALID_URL', 'bad url')).code, 'SETTINGS_INVALID');
    assert.equal(describeFailure(new InputError('UNREADABLE_INPUT_FILE')).code, 'SETTINGS_INVALID');
    // A bare RangeError is no longer guessed to be the user's input: it is a fault of ours.
    assert.equal(describeFailure(new RangeError('bad url')).code, 'INTERNAL_ERROR');
    assert.equal(describeFailure(new Error('boom')).code, 'INTERNAL_ERROR');
    assert.equal(describeFailure(Object.assign(new Error('x'), { name: 'AbortError' })).code, 'CANCELLED');
    assert.equal(describeFailure('weird').message, 'Weird.');
  });

  it('recognises its own errors across bundle copies (branded like the core’s)', () => {
    const foreign = { message: 'm', code: 'SETTINGS_INVALID', [Symbol.for('blindbox.error.extension')]: true };
    assert.ok(foreign instanceof ExtensionError);
    assert.equal(describeFailure(new ExtensionError('NOT_CONFIGURED')).code, 'NOT_CONFIGURED');
    assert.ok(!(new Error('x') instanceof ExtensionError));
  });

  it('makes one printable line and defuses links in notifications', () => {
    assert.equal(oneLine('a\nb\u202ec\u0000d   e\x1b[8m\u009b2J\u007f\n'), 'a\\nb\\u202ec\\x00d   e\\x1b[8m\\u009b2J\\x7f');
    assert.equal(oneLine('x'.repeat(600)).length, 500);
    assert.equal(defuseLinks('see [here](https://evil) or [x] (y)'), 'see [here] (https://evil) or [x] (y)');
    assert.equal(notificationText({ code: 'CHAIN_UNTRUSTED', message: 'Root "[a](command:x)".', untrusted: true }), 'BlindBox: CHAIN_UNTRUSTED: Root "[a] (command:x)".');
  });

  it('shows an unknown code (a newer core’s) as it is', () => {
    assert.equal(shortReason('SOMETHING_NEW'), 'SOMETHING_NEW');
    assert.equal(shortReason('constructor'), 'constructor');
  });

  it('are made from a code with its family’s sentence and the core’s untrusted rule, the same as from the error', () => {
    const families = [[ATTESTATION_ERROR_CODES, AttestationError], [CHANNEL_ERROR_CODES, ChannelError], [RECEIPT_ERROR_CODES, ReceiptError], [EXTENSION_ERROR_CODES, ExtensionError]] as const;
    for (const [codes, cls] of families) {
      for (const [code, sentence] of Object.entries(codes)) {
        assert.deepEqual(failure(code as FailureCode), describeFailure(new cls(code as never)), code);
        assert.equal(failure(code as FailureCode).message, sentence);
        assert.equal(failure(code as FailureCode, 'Said otherwise.').message, 'Said otherwise.');
      }
    }
    // One sentence for "no server": the one the extension shows wherever it is refused.
    assert.equal(failure('NOT_CONFIGURED').message, EXTENSION_ERROR_CODES.NOT_CONFIGURED);
  });

  it('files every attestation refusal under a check (never "Not checked"), and offers the fixes it knows', () => {
    for (const code of Object.keys(ATTESTATION_ERROR_CODES)) assert.ok(failedCheck(code), code);
    assert.equal(failedCheck('PCR_MISMATCH'), 'code');
    assert.equal(failedCheck('TLS_BINDING_MISMATCH'), 'channel');
    for (const code of ['SERVER_UNREACHABLE', 'RECEIPT_MISSING', 'NOT_CONFIGURED', 'SOMETHING_NEW', 'constructor']) assert.equal(failedCheck(code), undefined, code);
    assert.equal(failureFix('NOT_CONFIGURED'), 'configureServer');
    assert.equal(failureFix('CHAIN_UNTRUSTED'), 'trustRoot');
    assert.equal(failureFix('SETTINGS_INVALID'), 'openUserSettings');
    for (const code of ['PCR_MISMATCH', 'SOMETHING_NEW', 'toString']) assert.equal(failureFix(code), undefined, code);
  });
});
