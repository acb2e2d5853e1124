/**
 * How a BlindBox simulation root names itself (`blindbox serve --simulate`): the server issues its root with this
 * subject, and the client recognises such a root by it (core/attestation/roots.ts `rootKind`), to say "a BlindBox
 * SIMULATION root" and to offer replacing an old one after a restart. The name proves nothing: a recognised root is
 * still trusted only when the user trusts it.
 */
export const SIMULATION_ROOT_NAME = {
  /** Every certificate of a simulation chain carries this organisation. */
  organization: 'BlindBox SIMULATION (not AWS)',
  organizationalUnit: 'not confidential',
  /** The root's own common name (intermediates and leaves have others). */
  rootCommonName: 'simulation.nitro-enclaves',
} as const;
