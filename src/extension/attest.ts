/**
 * Attesting the configured server and keeping the one session audio may go
 * through. No `vscode` here: the reuse rules (same trust settings, younger
 * than the policy's maximum age) and the failure handling are tested against
 * the reference server in simulation.
 *
 * Audio only ever travels over an `AttestedSession`, which exists only after
 * the attestation verified and the TLS key was bound to it; a failed
 * verification drops the session, so nothing can be sent afterwards.
 */
import { AWS_NITRO_ROOT_G1, connect, loadPolicyFile, loadRootFile, type AttestedSession, type ConnectOptions, type TrustedRoot } from '../core/index.js';
import { describeFailure, ExtensionError, type Failure } from './failure.js';
import { SettingsError, type ExtensionSettings } from './settings.js';
import type { PolicyInfo } from './state.js';
import type { Attested } from '../core/transport/session.js';

/** What the settings say to trust: the policy and the roots (AWS's always, plus the listed files). */
export interface Trust {
  readonly policy: PolicyInfo;
  readonly roots: readonly TrustedRoot[];
}

/** Reads the policy file and root files named in the settings. Throws `SettingsError`. */
export async function loadTrust(settings: ExtensionSettings): Promise<Trust> {
  let policy: PolicyInfo = settings.policy;
  const extra: TrustedRoot[] = [];
  if (settings.policyFile) {
    try {
      const loaded = await loadPolicyFile(settings.policyFile);
      policy = Object.freeze({ ...loaded.policy, source: settings.policyFile });
      extra.push(...loaded.roots);
    } catch (err) {
      throw new SettingsError('policyFile', (err as Error).message);
    }
  }
  for (const file of settings.trustedRoots) {
    try {
      extra.push(...(await loadRootFile(file)));
    } catch (err) {
      throw new SettingsError('trustedRoots', (err as Error).message);
    }
  }
  const roots = [AWS_NITRO_ROOT_G1, ...extra.filter((r) => r.sha256 !== AWS_NITRO_ROOT_G1.sha256)];
  return Object.freeze({ policy, roots: Object.freeze(roots) });
}

export type AttestOutcome =
  | { readonly ok: true; readonly session: AttestedSession; readonly policy: PolicyInfo; readonly reused: boolean }
  | { readonly ok: false; readonly failure: Failure; readonly policy: PolicyInfo | undefined; readonly observed?: Attested };

/** A session is reused only while it has at least this long left before it must attest again. */
export const REUSE_MARGIN_MS = 5_000;

type Connect = (url: string, options: ConnectOptions) => Promise<AttestedSession>;

export interface AttestorOptions {
  /** Injectable for tests. */
  readonly connect?: Connect;
  readonly log?: (line: string) => void;
}

/** The settings that decide what a session proves; a session made under other values is never reused. */
export function trustKey(s: ExtensionSettings): string {
  return JSON.stringify([s.serverUrl, s.policy.name, s.policy.pcrs, s.policy.maxAgeSeconds, s.policyFile, s.trustedRoots, s.requestTimeoutMs]);
}

export class Attestor {
  #current: { readonly session: AttestedSession; readonly key: string; readonly policy: PolicyInfo } | undefined;
  #inflight: { readonly key: string; readonly promise: Promise<AttestOutcome> } | undefined;
  #generation = 0;
  readonly #connect: Connect;
  readonly #log: (line: string) => void;

  constructor(options: AttestorOptions = {}) {
    this.#connect = options.connect ?? connect;
    this.#log = options.log ?? (() => undefined);
  }

  /** The session in force, if any. */
  get session(): AttestedSession | undefined {
    return this.#current?.session;
  }

  /** A session for an upload: the current one when it was made under these settings and is young enough, else a fresh attestation. */
  async acquire(settings: ExtensionSettings, signal?: AbortSignal): Promise<AttestOutcome> {
    const current = this.#current;
    if (current && current.key === trustKey(settings) && current.session.remainingMs > REUSE_MARGIN_MS) {
      this.#log(`reusing the attested session (${Math.round(current.session.remainingMs / 1000)} s left before it must attest again)`);
      return { ok: true, session: current.session, policy: current.policy, reused: true };
    }
    return this.verify(settings, signal);
  }

  /** Attests now (joining an attestation already running under the same settings). */
  verify(settings: ExtensionSettings, signal?: AbortSignal): Promise<AttestOutcome> {
    const key = trustKey(settings);
    if (this.#inflight?.key === key) return this.#inflight.promise;
    const promise = this.#attest(settings, key, signal).finally(() => {
      if (this.#inflight?.promise === promise) this.#inflight = undefined;
    });
    this.#inflight = { key, promise };
    return promise;
  }

  async #attest(settings: ExtensionSettings, key: string, signal: AbortSignal | undefined): Promise<AttestOutcome> {
    const generation = ++this.#generation;
    const server = settings.serverUrl;
    if (!server) {
      await this.drop();
      return { ok: false, failure: describeFailure(new ExtensionError('NOT_CONFIGURED'), 'settings'), policy: settings.policyFile ? undefined : settings.policy };
    }
    let trust: Trust;
    try {
      trust = await loadTrust(settings);
    } catch (err) {
      await this.drop();
      return { ok: false, failure: describeFailure(err, 'settings'), policy: settings.policyFile ? undefined : settings.policy };
    }
    const rootNames = trust.roots.map((r) => r.label).join(', ');
    this.#log(`attesting ${server} under policy "${trust.policy.name}" (${Object.keys(trust.policy.pcrs).length} PCR(s) pinned, max age ${trust.policy.maxAgeSeconds} s); trusted roots: ${rootNames}`);
    const options: ConnectOptions = { roots: trust.roots, policy: trust.policy, timeoutMs: settings.requestTimeoutMs, signal };
    let session: AttestedSession;
    try {
      session = await this.#connect(server, options);
    } catch (err) {
      const failure = describeFailure(err, 'attestation');
      // A cancelled attempt proves nothing either way: the session in force (if any) stays.
      if (generation === this.#generation && failure.code !== 'CANCELLED') await this.drop();
      const observed = failure.code === 'PCR_MISMATCH' ? await this.#observe(server, options) : undefined;
      return { ok: false, failure, policy: trust.policy, observed };
    }
    if (generation !== this.#generation) {
      // Settings changed while this attestation ran: its session answers an outdated question.
      await session.close();
      return { ok: false, failure: { code: 'CANCELLED', message: 'A newer verification replaced this one.', untrusted: false }, policy: trust.policy };
    }
    const old = this.#current;
    this.#current = { session, key, policy: trust.policy };
    await old?.session.close();
    return { ok: true, session, policy: trust.policy, reused: false };
  }

  /**
   * After PCR_MISMATCH: attests once more with no PCR expectations, only to show
   * which measurements the server has. The session is closed at once and never
   * used; any failure just means nothing is shown.
   */
  async #observe(server: string, options: ConnectOptions): Promise<Attested | undefined> {
    try {
      const probe = await this.#connect(server, { ...options, policy: { ...options.policy!, pcrs: {} } });
      const attested = probe.attested;
      await probe.close();
      return attested;
    } catch {
      return undefined;
    }
  }

  /** Forgets the session after a failure that makes it untrustworthy (e.g. a failed attestation during an upload). */
  async drop(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    await current?.session.close();
  }

  /** Closes everything; pending attestations are ignored when they finish. */
  async dispose(): Promise<void> {
    this.#generation++;
    await this.drop();
  }
}

