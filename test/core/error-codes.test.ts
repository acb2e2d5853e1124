/**
 * Every error code of every client-side family, in undici's style (test/errors.js): each code constructed with its
 * default sentence, checked for its class and its parents, `name`, `code` and `message`, and for the one untrusted
 * rule. Then the README's code tables, which must list exactly these codes. The engine's codes are not here: they are
 * the server's, documented with its HTTP statuses.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  ATTESTATION_ERROR_CODES,
  AttestationError,
  BlindBoxError,
  CHANNEL_ERROR_CODES,
  ChannelError,
  INPUT_ERROR_CODES,
  InputError,
  isUntrustedFailure,
  RECEIPT_ERROR_CODES,
  ReceiptError,
} from '../../src/core/errors.js';
import { EXTENSION_ERROR_CODES, ExtensionError } from '../../src/extension/common/errors.js';
import { describeFailure, shortReason } from '../../src/extension/common/failure.js';

interface Family {
  readonly cls: new (code: never) => BlindBoxError;
  readonly name: string;
  readonly brand: string;
  readonly codes: Readonly<Record<string, string>>;
  /** Which of its codes mean "the server is not the attested enclave". */
  readonly untrusted: (code: string) => boolean;
}

const FAMILIES: readonly Family[] = [
  { cls: AttestationError, name: 'AttestationError', brand: 'blindbox.error.attestation', codes: ATTESTATION_ERROR_CODES, untrusted: () => true },
  { cls: ChannelError, name: 'ChannelError', brand: 'blindbox.error.channel', codes: CHANNEL_ERROR_CODES, untrusted: (code) => ['TLS_BINDING_MISMATCH', 'INSPECTED_TLS_UNTRUSTED', 'SEALED_RESPONSE_INVALID'].includes(code) },
  { cls: ReceiptError, name: 'ReceiptError', brand: 'blindbox.error.receipt', codes: RECEIPT_ERROR_CODES, untrusted: () => true },
  { cls: InputError, name: 'InputError', brand: 'blindbox.error.input', codes: INPUT_ERROR_CODES, untrusted: () => false },
  { cls: ExtensionError, name: 'ExtensionError', brand: 'blindbox.error.extension', codes: EXTENSION_ERROR_CODES, untrusted: () => false },
];

const ALL_CODES = FAMILIES.flatMap((f) => Object.keys(f.codes));

describe('every error code', () => {
  for (const family of FAMILIES) {
    describe(family.name, () => {
      for (const [code, sentence] of Object.entries(family.codes)) {
        it(code, () => {
          const err = new family.cls(code as never);
          assert.ok(err instanceof family.cls);
          assert.ok(err instanceof BlindBoxError);
          assert.ok(err instanceof Error);
          for (const other of FAMILIES) if (other !== family) assert.ok(!(err instanceof other.cls), `not a ${other.name}`);
          assert.equal(err.name, family.name);
          assert.equal(err.code, code);
          assert.equal(err.message, sentence);
          assert.match(sentence, /^[A-Z].*\.$/, 'a default message is one sentence');
          assert.equal(isUntrustedFailure(err), family.untrusted(code));
          // Another bundle's copy of the class is recognised by its brand, and so is the base class.
          const foreign = Object.create({ [Symbol.for(family.brand)]: true, [Symbol.for('blindbox.error')]: true });
          assert.ok(foreign instanceof family.cls && foreign instanceof BlindBoxError);
        });
      }
    });
  }

  it('are unique across families (a Failure carries the code alone)', () => {
    assert.equal(new Set(ALL_CODES).size, ALL_CODES.length);
  });

  it('each reach the extension as a code with a short status-bar reason', () => {
    for (const family of FAMILIES) {
      for (const code of Object.keys(family.codes)) {
        const shown = describeFailure(new family.cls(code as never)).code;
        assert.notEqual(shortReason(shown), shown, `${family.name} ${code} → ${shown}`);
      }
    }
  });
});

describe('the README error tables', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

  /** The backticked codes in the first column of every `| code | meaning |` table. */
  function documentedCodes(): string[] {
    const codes: string[] = [];
    let inTable = false;
    for (const line of readme.split('\n')) {
      if (/^\| code \| meaning \|$/.test(line)) inTable = true;
      else if (!line.startsWith('|')) inTable = false;
      else if (inTable && !line.startsWith('| ---')) codes.push(...[...line.split('|')[1]!.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!));
    }
    return codes;
  }

  it('list every code of every client family, once, and no other', () => {
    const documented = documentedCodes();
    assert.deepEqual([...documented].sort(), [...ALL_CODES].sort());
  });
});
