/**
 * Where attestation documents come from. The shape is the NSM's own
 * `Attestation { user_data, nonce, public_key }` request, so the real
 * `/dev/nsm` device and the simulation are interchangeable behind it.
 */

/** What the enclave app asks to be attested; each field ends up verbatim in the document. */
export interface AttestationRequest {
  /** The client's fresh nonce (16..64 bytes in this protocol). */
  readonly nonce: Uint8Array;
  /** DER SubjectPublicKeyInfo of the TLS certificate the app presents. */
  readonly publicKey: Uint8Array;
  /** CBOR description of the service (engine, model, version). */
  readonly userData: Uint8Array;
}

export interface AttestationProvider {
  /** `nsm` for the real device; `simulation` for the local, NOT confidential stand-in. */
  readonly kind: 'nsm' | 'simulation';
  /** The PCRs the documents will carry (index → value). */
  readonly pcrs: ReadonlyMap<number, Uint8Array>;
  /** A fresh, signed attestation document for `request`. */
  attest(request: AttestationRequest): Promise<Uint8Array>;
}
