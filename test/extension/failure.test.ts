import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AttestationError, BlindBoxError, ChannelError, InputError } from '../../src/core/errors.js';
import { oneLine } from '../../src/shared/text.js';
import { ExtensionError } from '../../src/extension/common/errors.js';
import { describeFailure, shortReason } from '../../src/extension/common/failure.js';
import { defuseLinks, notificationText } from '../../src/extension/common/plain-text.js';

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
});
