/**
 * What a network diagnosis found: one step per stage of reaching an attested enclave, in the order a connection goes
 * through them. Plain data (JSON as it is), every string already one printable line: `render.ts` prints it, the CLI
 * and the extension show it; nothing in it is a secret (a proxy is named by its origin, never its credentials).
 */

/** The stages, in order. */
export type DiagnosticStepId = 'url' | 'route' | 'resolve' | 'connect' | 'tls' | 'attestation' | 'binding';

export type DiagnosticStatus = 'ok' | 'failed' | 'skipped';

/** A failure as the core names it: its stable code and our sentence (escaped). */
export interface DiagnosticError {
  readonly code: string;
  readonly message: string;
}

/** One stage and what it found. */
export interface DiagnosticStep {
  readonly id: DiagnosticStepId;
  /** What the step checks, e.g. "TLS: the certificate the network presents". */
  readonly title: string;
  readonly status: DiagnosticStatus;
  /** What it found: label and value, each one printable line. */
  readonly facts: readonly (readonly [string, string])[];
  /** Set when `status` is `failed`. */
  readonly error?: DiagnosticError;
  /** Why a step was skipped, or what a finding means and what to do about it. */
  readonly note?: string;
}

/** The whole diagnosis: `ok` when no step failed (skipped steps are not failures). */
export interface DiagnosticReport {
  /** The server URL as given (escaped, one line). */
  readonly url: string;
  /** When the diagnosis began, ISO 8601. */
  readonly startedAt: string;
  readonly steps: readonly DiagnosticStep[];
  readonly ok: boolean;
}
