/**
 * `GET /v1/verification` and `GET /v1/models`: what the session attested, rendered for another tool. Nothing here
 * judges anything: every fact comes from the session's `AttestedEnclave`s and policy, as verified by the core.
 */
import { rejectedReport, verifiedReport, type RejectedReport, type VerifiedReport } from '../attestation/report.js';
import type { BlindBoxError } from '../errors.js';
import type { AttestationPolicy } from '../policy.js';
import type { AttestedEnclave } from '../transport/attested-enclave.js';
import { oneLine } from '../../shared/text.js';
import { LocalRefusal } from './answers.js';

/** The verification document's format name. */
export const VERIFICATION_FORMAT = 'blindbox-local-endpoint-verification/1';

/** One attested enclave as the verification document shows it. */
export interface EnclaveVerification extends VerifiedReport {
  /** The chain ends in a root other than AWS's: no enclave hardware, the audio is not protected. */
  readonly simulation: boolean;
  readonly root: string;
  /** When the client verified the document (ISO-8601). */
  readonly verifiedAt: string;
  /** Seconds since the document was issued, at the time of the answer. */
  readonly ageSeconds: number;
  /** SHA-256 of the TLS key every request to this enclave is pinned to. */
  readonly tlsKeySha256: string;
  /** What the enclave attests it runs (its `user_data`), if it says. */
  readonly service: { readonly engine: string; readonly model: string; readonly version: string } | null;
}

export interface VerificationDocument {
  readonly format: typeof VERIFICATION_FORMAT;
  /** Whether at least one enclave is attested now under the policy (requests are forwarded only then). */
  readonly verified: boolean;
  readonly server: string;
  readonly policy: { readonly name: string; readonly pcrs: Readonly<Record<string, string>>; readonly maxAgeSeconds: number };
  readonly enclaves: readonly EnclaveVerification[];
  /** Every transcript is answered only after its receipt verified against the enclave that carried it. */
  readonly receipts: 'verified-before-answer';
  /** Why nothing is attested, when `verified` is false. */
  readonly failure: RejectedReport | null;
}

/** The verification document of `enclaves` (attested under `policy`), or of `failure` when attesting failed. */
export function verificationDocument(server: string, policy: AttestationPolicy, enclaves: readonly AttestedEnclave[], now: number, failure?: BlindBoxError): VerificationDocument {
  return {
    format: VERIFICATION_FORMAT,
    verified: failure === undefined && enclaves.length > 0,
    server,
    policy: { name: policy.name, pcrs: { ...policy.pcrs }, maxAgeSeconds: policy.maxAgeSeconds },
    enclaves: failure === undefined ? enclaves.map((e) => enclaveVerification(e, now)) : [],
    receipts: 'verified-before-answer',
    failure: failure === undefined ? null : rejectedReport(failure),
  };
}

function enclaveVerification(e: AttestedEnclave, now: number): EnclaveVerification {
  const a = e.attestation;
  return {
    ...verifiedReport(a),
    simulation: e.simulation,
    root: a.root.label,
    verifiedAt: new Date(a.verifiedAt).toISOString(),
    ageSeconds: Math.max(0, Math.round((now - a.timestamp) / 1000)),
    tlsKeySha256: e.binding.presentedSpkiSha256,
    service: e.service ? { engine: e.service.engine, model: e.service.model, version: e.service.version } : null,
  };
}

/** OpenAI's model object. */
export interface ModelObject {
  readonly id: string;
  readonly object: 'model';
  readonly created: number;
  readonly owned_by: string;
}

/** OpenAI's `models.retrieve`: the attested model named `id`; `MODEL_NOT_FOUND` when no attested enclave runs it. */
export function attestedModel(enclaves: readonly AttestedEnclave[], id: string): ModelObject {
  const model = modelList(enclaves).data.find((m) => m.id === id);
  if (!model) throw new LocalRefusal('MODEL_NOT_FOUND', 404, `No attested enclave runs the model ${JSON.stringify(oneLine(id, 80))}; GET /v1/models lists those that do.`);
  return model;
}

/** OpenAI's model list: the models the attested enclaves say (in their attested `user_data`) they run. */
export function modelList(enclaves: readonly AttestedEnclave[]): { object: 'list'; data: ModelObject[] } {
  const seen = new Map<string, ModelObject>();
  for (const e of enclaves) {
    if (!e.service || seen.has(e.service.model)) continue;
    seen.set(e.service.model, { id: e.service.model, object: 'model', created: Math.floor(e.attestation.timestamp / 1000), owned_by: `blindbox ${e.service.engine}` });
  }
  return { object: 'list', data: [...seen.values()] };
}
