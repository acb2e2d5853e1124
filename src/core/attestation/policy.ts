/**
 * What the caller expects of an authentic document: the code it measures
 * (PCRs), the nonce it asked for, and how fresh it is. Checked only after the
 * document is proven authentic, each as its own error.
 */
import { AttestationError, InputError } from '../errors.js';
import { fromHex, toHex } from '../util/hex.js';
import { firstDifference, markDifference } from '../../shared/difference.js';
import type { AttestationPayload } from './payload.js';

/** Expected PCR values by index (0..31), as hex. */
export type PcrPolicy = Readonly<Record<number | string, string>>;

/** How far in the future a document's timestamp may be (clocks differ a little). */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 60_000;

/**
 * The PCR index a policy key names. Only the canonical spelling (`0`..`31`, no leading zero, sign or space) is
 * accepted: "0", "00" and "000" would all name PCR0, so one of two entries for the same PCR would silently win.
 */
export function pcrIndex(key: string): number {
  if (!/^(0|[1-9]\d?)$/.test(key) || Number(key) > 31) {
    const hint = /^\d+$/.test(key) && Number(key) <= 31 ? ` (write ${Number(key)}: an index must not have leading zeros)` : '';
    throw new InputError('INVALID_PCR', `PCR index ${JSON.stringify(key)} is not an integer from 0 to 31 in canonical form${hint}`);
  }
  return Number(key);
}

/** Normalises a PCR policy to index → lower-case hex; throws `InputError` `INVALID_PCR` on a malformed entry. */
export function normalisePcrPolicy(policy: PcrPolicy): ReadonlyMap<number, string> {
  const out = new Map<number, string>();
  for (const [key, value] of Object.entries(policy)) {
    // Canonical keys are distinct as strings exactly when they are distinct as indices, so no entry can alias another.
    const index = pcrIndex(key);
    const bytes = fromHex(value, `The expected value of PCR${index}`, 'INVALID_PCR');
    if (![32, 48, 64].includes(bytes.length)) throw new InputError('INVALID_PCR', `The expected value of PCR${index} is ${bytes.length} bytes; PCRs are 32, 48 or 64 bytes`);
    out.set(index, toHex(bytes));
  }
  return out;
}

/** Every expected PCR must be present and equal. */
export function checkPcrs(payload: AttestationPayload, expected: ReadonlyMap<number, string>): void {
  for (const [index, want] of expected) {
    const got = payload.pcrs.get(index);
    if (!got) throw new AttestationError('PCR_MISMATCH', `PCR${index} is required by the policy but absent from the attestation document.`, { pcr: { index, actual: null, expected: want } });
    const gotHex = toHex(got);
    if (gotHex !== want) {
      const debug = /^0+$/.test(gotHex) && index <= 2 ? ' (all zeros: the enclave runs in debug mode)' : '';
      const at = firstDifference(gotHex, want);
      throw new AttestationError(
        'PCR_MISMATCH',
        `PCR${index} differs from the policy from digit ${at + 1} on: the enclave has ${markDifference(gotHex, at)}${debug}, the policy expects ${markDifference(want, at)}.`,
        { pcr: { index, actual: gotHex, expected: want } },
      );
    }
  }
}

/** The document must carry exactly the nonce the caller sent. */
export function checkNonce(payload: AttestationPayload, expected: Uint8Array): void {
  if (!payload.nonce) throw new AttestationError('NONCE_MISMATCH', 'The attestation document carries no nonce, but a fresh one was asked for: it may be a replay.');
  if (Buffer.compare(payload.nonce, expected) !== 0) {
    throw new AttestationError('NONCE_MISMATCH', 'The attestation document carries a different nonce than the one asked for: it may be a replay.');
  }
}

/** The document must not be older than `maxAgeMs` (when given) nor dated beyond `maxFutureSkewMs` ahead of `now`. */
export function checkAge(payload: AttestationPayload, now: Date, maxAgeMs: number | undefined, maxFutureSkewMs: number): void {
  const ageMs = now.getTime() - payload.timestamp;
  const issued = new Date(payload.timestamp).toISOString();
  if (-ageMs > maxFutureSkewMs) {
    throw new AttestationError('STALE_DOCUMENT', `The attestation document is dated ${issued}, ${Math.round(-ageMs / 1000)} s after the verification time ${now.toISOString()}.`);
  }
  if (maxAgeMs !== undefined && ageMs > maxAgeMs) {
    throw new AttestationError('STALE_DOCUMENT', `The attestation document was issued at ${issued}, ${Math.round(ageMs / 1000)} s before the verification time, more than the ${Math.round(maxAgeMs / 1000)} s allowed.`);
  }
}
