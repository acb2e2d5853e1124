/**
 * The one owner of "is this server trusted, under which policy". It holds the `TrustState`, decides whether an
 * attestation's outcome is still news (the one stale-result guard: a generation bumped by every question asked), and
 * follows the session's list of enclaves through `AttestedSession.onEnclavesChanged`, so nobody polls. No `vscode`: the
 * presenter (ctx.ts) subscribes with `onDidChange` and renders; the tests drive it against the simulation server.
 *
 * It imports nothing heavy at run time: the `Attestor` (and the core behind it) arrives through `attestor()`, loaded on
 * first use, so the controller exists from activation without loading the core.
 */
import type { AttestedEnclave } from '../../core/transport/attested-enclave.js';
import type { AttestedSession } from '../../core/transport/session.js';
import type { Failure } from '../common/failure.js';
import { failureLine } from '../common/plain-text.js';
import type { ExtensionSettings } from '../settings/model.js';
import type { Attestor, AttestOutcome } from './attestor.js';
import { knownPolicy, type Enclaves, type PolicyInfo, type TrustState } from './trust-state.js';

export interface TrustControllerOptions {
  /** The Attestor, created on first call (it lives in the lazily loaded core bundle). */
  readonly attestor: () => Promise<Attestor>;
  readonly log?: { readonly info: (line: string) => void; readonly error: (line: string) => void };
  /** Injectable clock (ms), for the time of a failure. */
  readonly now?: () => number;
}

export type TrustListener = (state: TrustState) => void;

export class TrustController {
  #state: TrustState = { kind: 'unconfigured' };
  readonly #listeners = new Set<TrustListener>();
  /** Bumped by every verification, upload acquisition and refusal; outcomes of older ones are dropped. */
  #generation = 0;
  /** The session whose enclave a verified state shows, and the end of our subscription to its re-attestations. */
  #shown: { readonly session: AttestedSession; readonly unsubscribe: () => void } | undefined;
  /** The state this controller set when the shown session's last enclave stopped answering. */
  #lapsed: TrustState | undefined;
  readonly #loadAttestor: () => Promise<Attestor>;
  #attestor: Attestor | undefined;
  readonly #log: NonNullable<TrustControllerOptions['log']>;
  readonly #now: () => number;

  constructor(options: TrustControllerOptions) {
    this.#loadAttestor = options.attestor;
    this.#log = options.log ?? { info: () => undefined, error: () => undefined };
    this.#now = options.now ?? Date.now;
  }

  get state(): TrustState {
    return this.#state;
  }

  /** Calls `listener` with every new state. Returns the unsubscribe function. */
  onDidChange(listener: TrustListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The state once no verification is running: now, or when the one in flight ends (`undefined` if none ends within
   * `timeoutMs`). An explicit verification that a newer one overtook (a settings change, another command) still owes
   * the user an answer: this is it.
   */
  settled(timeoutMs: number): Promise<TrustState | undefined> {
    if (this.#state.kind !== 'verifying') return Promise.resolve(this.#state);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      const unsubscribe = this.onDidChange((state) => state.kind !== 'verifying' && finish(state));
      function finish(state: TrustState | undefined): void {
        clearTimeout(timer);
        unsubscribe();
        resolve(state);
      }
    });
  }

  /** The state before anything was attested: whether a server is set (read cheaply at activation). */
  start(server: string | undefined): void {
    this.#set(server ? { kind: 'unverified', server } : { kind: 'unconfigured' });
  }

  /**
   * Attests now under `settings` (a fresh document). Returns the new state, or undefined when the outcome is no news:
   * a newer question superseded it, or it was cancelled (the state then goes back to what it said before).
   */
  async verify(settings: ExtensionSettings, signal?: AbortSignal): Promise<TrustState | undefined> {
    const generation = ++this.#generation;
    const server = settings.serverUrl;
    if (!server) {
      await this.#forget();
      if (generation !== this.#generation) return undefined;
      this.#log.info('no server is configured (blindbox.serverUrl)');
      this.#set({ kind: 'unconfigured', policy: knownPolicy(settings) });
      return this.#state;
    }
    const before = this.#state;
    this.#set({ kind: 'verifying', server, policy: policyOf(before) });
    const attestor = await this.#attestorNow();
    const outcome = await attestor.verify(settings, signal);
    if (generation !== this.#generation) return undefined;
    return this.#apply(server, outcome, before) ? this.#state : undefined;
  }

  /**
   * A session for an upload: reused while young enough, else attested now. Returns a failure (already in the state)
   * when the server does not prove itself; the caller then sends nothing.
   */
  async acquire(settings: ExtensionSettings & { readonly serverUrl: string }, signal: AbortSignal): Promise<AttestOutcome> {
    const generation = ++this.#generation;
    const attestor = await this.#attestorNow();
    const before = this.#state;
    if (!(attestor.session && before.kind === 'verified')) this.#set({ kind: 'verifying', server: settings.serverUrl, policy: policyOf(before) });
    const outcome = await attestor.acquire(settings, signal);
    if (generation === this.#generation) this.#apply(settings.serverUrl, outcome, before);
    return outcome;
  }

  /** The settings cannot be read: nothing is trusted until they can (any attestation in flight is aborted). */
  async settingsInvalid(server: string | undefined, failure: Failure): Promise<void> {
    const generation = ++this.#generation;
    await this.#forget();
    if (generation === this.#generation) this.#fail(server, undefined, failure);
  }

  /**
   * An upload failed because the server stopped proving itself (a re-attestation inside the request failed) or stopped
   * answering: the session is dropped, and the state shows `failure` until an attestation succeeds again.
   */
  async uploadFailed(server: string, failure: Failure): Promise<void> {
    ++this.#generation;
    const policy = policyOf(this.#state);
    await this.#attestor?.drop();
    this.#fail(server, policy, failure, undefined, true);
  }

  /** Closes the session; an attestation in flight is aborted. Later outcomes change nothing. */
  async dispose(): Promise<void> {
    ++this.#generation;
    this.#unsubscribe();
    this.#listeners.clear();
    await this.#attestor?.dispose();
  }

  async #attestorNow(): Promise<Attestor> {
    this.#attestor ??= await this.#loadAttestor();
    return this.#attestor;
  }

  async #forget(): Promise<void> {
    this.#attestor?.cancel();
    await this.#attestor?.drop();
  }

  /** Applies an outcome that is still current; false when it was cancelled (the state is restored). */
  #apply(server: string, outcome: AttestOutcome, before: TrustState): boolean {
    if (outcome.ok) {
      this.#show(outcome.session, server, outcome.policy);
      return true;
    }
    if (outcome.failure.code === 'CANCELLED') {
      // A cancelled attestation proves nothing: the state goes back to what it said before (or "not verified").
      this.#log.info('attestation cancelled');
      const enclaves = this.#shown && answering(this.#shown.session);
      if (before.kind === 'verified' && enclaves) this.#set({ ...before, enclaves });
      else this.#set(before.kind === 'verifying' ? { kind: 'unverified', server, policy: before.policy } : before);
      return false;
    }
    this.#fail(server, outcome.policy, outcome.failure, outcome.observed);
    return true;
  }

  /** Shows `session` as verified and follows its re-attestations while it is the one shown. */
  #show(session: AttestedSession, server: string, policy: PolicyInfo): void {
    if (this.#shown?.session !== session) {
      this.#unsubscribe();
      // A fleet: each connection may attest another enclave. The session owns the set (one entry per key that still
      // answers, each with its latest attestation); the state shows all of them, and is no longer verified once none
      // answers (a restarted server's old key): the next use attests again.
      const unsubscribe = session.onEnclavesChanged(() => {
        const state = this.#state;
        // Followed while it shows this session: verified, or lapsed by this listener (a connection of the same request
        // may attest the restarted server's new key a moment later).
        if (this.#shown?.session !== session || !(state.kind === 'verified' || state === this.#lapsed)) return;
        const enclaves = answering(session);
        if (enclaves) this.#set({ kind: 'verified', server, policy, enclaves, route: session.route });
        else {
          this.#log.info(`${server}: no attested enclave answers any more; the next use attests again`);
          this.#set({ kind: 'unverified', server, policy });
          this.#lapsed = this.#state;
        }
      });
      this.#shown = { session, unsubscribe };
    }
    const enclaves = answering(session);
    if (enclaves) this.#set({ kind: 'verified', server, policy, enclaves, route: session.route });
    else this.#set({ kind: 'unverified', server, policy });
  }

  #fail(server: string | undefined, policy: PolicyInfo | undefined, failure: Failure, observed?: AttestedEnclave, whileSending = false): void {
    this.#unsubscribe();
    this.#log.error(`${server ?? '(no server)'}: ${failureLine(failure)}`);
    this.#set({ kind: 'failed', server, policy, failure, at: this.#now(), ...(observed ? { observed } : {}), ...(whileSending ? { whileSending } : {}) });
  }

  #unsubscribe(): void {
    this.#shown?.unsubscribe();
    this.#shown = undefined;
  }

  #set(state: TrustState): void {
    this.#state = state;
    for (const listener of [...this.#listeners]) listener(state);
  }
}

/** The session's enclaves that still answer, or undefined when none does. */
function answering(session: AttestedSession): Enclaves | undefined {
  const enclaves = session.enclaves;
  return enclaves.length > 0 ? (enclaves as Enclaves) : undefined;
}

/** The policy a state names, to keep showing while the next attestation runs. */
function policyOf(state: TrustState): PolicyInfo | undefined {
  return state.policy;
}
