/**
 * Attesting the configured server and keeping the one session audio may go
 * through. No `vscode` here: the reuse rules (same trust settings and trust
 * file contents, younger than the policy's maximum age), the time bound and
 * cancellation, and the failure handling are tested against the reference
 * server in simulation and hostile servers on loopback.
 *
 * Audio only ever travels over an `AttestedSession`, which exists only after
 * the attestation verified and the TLS key was bound to it; a failed
 * verification drops the session, so nothing can be sent afterwards.
 */
import { AWS_NITRO_ROOT_G1, connect, describeRoute, InputError, loadPolicyFile, loadRootFile, quoteServerText, sha256Hex, type AttestedEnclave, type AttestedSession, type ConnectOptions, type TrustedRoot } from '../../core/index.js';
import { describeFailure, failure, type Failure } from '../common/failure.js';
import { SettingsError, type ExtensionSettings } from '../settings/model.js';
import { knownPolicy, type PolicyInfo } from './trust-state.js';
import { editorProxyFor, type ProxyResolver } from './editor-proxy.js';

/** What the settings say to trust: the policy and the roots (AWS's always, plus the listed files). */
export interface Trust {
  readonly policy: PolicyInfo;
  readonly roots: readonly TrustedRoot[];
}

/** Reads the policy file and root files named in the settings. Throws `SettingsError`. */
export async function loadTrust(settings: ExtensionSettings): Promise<Trust> {
  let policy: PolicyInfo = settings.policy;
  const extra: TrustedRoot[] = [...settings.inlineRoots];
  if (settings.policyFile) {
    try {
      const loaded = await loadPolicyFile(settings.policyFile);
      policy = Object.freeze({ ...loaded.policy, source: settings.policyFile });
      extra.push(...loaded.roots);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      throw new SettingsError('policyFile', err.message);
    }
  }
  for (const file of settings.trustedRoots) {
    try {
      extra.push(...(await loadRootFile(file)));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      throw new SettingsError('trustedRoots', err.message);
    }
  }
  const roots = [AWS_NITRO_ROOT_G1, ...extra.filter((r) => r.sha256 !== AWS_NITRO_ROOT_G1.sha256)];
  return Object.freeze({ policy, roots: Object.freeze(roots) });
}

/**
 * A digest of what the trust files say now (policy name, PCRs, maximum age, root certificates). A session is
 * reused only while it matches: the files can change on disk without any setting changing.
 */
export function trustDigest(trust: Trust): string {
  const { name, pcrs, maxAgeSeconds } = trust.policy;
  return sha256Hex(JSON.stringify([name, pcrs, maxAgeSeconds, trust.roots.map((r) => r.sha256)]));
}

export type AttestOutcome =
  | { readonly ok: true; readonly session: AttestedSession; readonly policy: PolicyInfo; readonly reused: boolean }
  | { readonly ok: false; readonly failure: Failure; readonly policy: PolicyInfo | undefined; readonly observed?: AttestedEnclave };

/** A session is reused only while it has at least this long left before it must attest again. */
export const REUSE_MARGIN_MS = 5_000;

/**
 * What a whole verification may take beyond the request timeout (reading the trust files, checking the document):
 * the total is bounded here, whatever the core does, so a server that dribbles its document cannot keep the status
 * on "verifying…".
 */
export const VERIFY_MARGIN_MS = 2_000;

type Connect = (url: string, options: ConnectOptions) => Promise<AttestedSession>;

export interface AttestorOptions {
  /** Injectable for tests. */
  readonly connect?: Connect;
  readonly log?: (line: string) => void;
  /** VS Code's own proxy resolver (editor-proxy.ts), for a system or PAC proxy that no setting names. */
  readonly resolveProxy?: ProxyResolver;
}

/** The settings that decide what a session proves and which way it goes; a session made under other values is never reused. */
export function trustKey(s: ExtensionSettings): string {
  return JSON.stringify([s.serverUrl, s.policy.name, s.policy.pcrs, s.policy.maxAgeSeconds, s.policyFile, s.trustedRoots, s.inlineRoots.map((r) => r.sha256), s.requestTimeoutMs, s.proxy, s.proxyEnvironment]);
}

/** One attestation in flight, shared by every caller asking the same question; aborted when superseded or abandoned. */
interface Run {
  readonly key: string;
  readonly controller: AbortController;
  readonly promise: Promise<AttestOutcome>;
  /** Callers still waiting; when the last one with a signal gives up, the run is aborted. */
  waiters: number;
}

export class Attestor {
  #current: { readonly session: AttestedSession; readonly key: string; readonly digest: string; readonly policy: PolicyInfo } | undefined;
  #inflight: Run | undefined;
  readonly #connect: Connect;
  readonly #log: (line: string) => void;
  readonly #resolveProxy: ProxyResolver | undefined;

  constructor(options: AttestorOptions = {}) {
    this.#connect = options.connect ?? connect;
    this.#log = options.log ?? (() => undefined);
    this.#resolveProxy = options.resolveProxy;
  }

  /** The session in force, if any. */
  get session(): AttestedSession | undefined {
    return this.#current?.session;
  }

  /**
   * A session for an upload: the current one when it was made under these settings and the trust files as they read
   * now, and is young enough; else a fresh attestation. The files are read again each time (they are small): this is
   * what guarantees that no audio goes out under PCRs or roots the user has since replaced.
   */
  async acquire(settings: ExtensionSettings, signal?: AbortSignal): Promise<AttestOutcome> {
    const digest = await loadTrust(settings).then(trustDigest, () => undefined);
    const current = this.#current;
    if (current && current.key === trustKey(settings) && current.session.remainingMs > REUSE_MARGIN_MS) {
      if (digest !== undefined && current.digest === digest) {
        this.#log(`reusing the attested session (${Math.round(current.session.remainingMs / 1000)} s left before it must attest again)`);
        return { ok: true, session: current.session, policy: current.policy, reused: true };
      }
      this.#log('the policy or root files changed since the session was attested: attesting again under what they say now');
    }
    const outcome = await this.verify(settings, signal);
    // Joined an attestation that had read the files before they changed: once more, under their new contents.
    if (outcome.ok && digest !== undefined && this.#current?.session === outcome.session && this.#current.digest !== digest) return this.verify(settings, signal);
    return outcome;
  }

  /**
   * Attests now, joining an attestation already running under the same settings; one running under other settings
   * is aborted (its connection closed). `signal` cancels this caller's wait, and the attestation once nobody waits.
   */
  verify(settings: ExtensionSettings, signal?: AbortSignal): Promise<AttestOutcome> {
    const key = trustKey(settings);
    let run = this.#inflight;
    if (run?.key !== key) {
      run?.controller.abort(new Error('A newer verification replaced this one.'));
      run = this.#start(settings, key);
    }
    return this.#join(run, settings, signal);
  }

  #start(settings: ExtensionSettings, key: string): Run {
    const controller = new AbortController();
    // A run stays current until a run under other settings replaces it or `cancel` ends it: only then may it change
    // the session in force. (Whether its outcome is still news to the UI is the TrustController's question.)
    const current = () => this.#inflight === run;
    const run: Run = {
      key,
      controller,
      waiters: 0,
      promise: this.#attest(settings, key, controller.signal, current).finally(() => {
        if (current()) this.#inflight = undefined;
      }),
    };
    this.#inflight = run;
    return run;
  }

  #join(run: Run, settings: ExtensionSettings, signal: AbortSignal | undefined): Promise<AttestOutcome> {
    run.waiters++;
    if (!signal) return run.promise;
    return new Promise((resolve, reject) => {
      const leave = () => {
        if (--run.waiters === 0) run.controller.abort(new Error('The verification was cancelled.'));
        resolve(cancelled(settings, 'The verification was cancelled.'));
      };
      if (signal.aborted) return leave();
      signal.addEventListener('abort', leave, { once: true });
      run.promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', leave));
    });
  }

  async #attest(settings: ExtensionSettings, key: string, cancel: AbortSignal, current: () => boolean): Promise<AttestOutcome> {
    const deadline = AbortSignal.timeout(settings.requestTimeoutMs + VERIFY_MARGIN_MS);
    const stop = AbortSignal.any([cancel, deadline]);
    const server = settings.serverUrl;
    if (!server) {
      await this.drop();
      return { ok: false, failure: failure('NOT_CONFIGURED'), policy: knownPolicy(settings) };
    }
    let trust: Trust;
    try {
      trust = await loadTrust(settings);
    } catch (err) {
      if (current()) await this.drop();
      return { ok: false, failure: describeFailure(err), policy: knownPolicy(settings) };
    }
    const rootNames = trust.roots.map((r) => r.label).join(', ');
    this.#log(`attesting ${server} under policy "${trust.policy.name}" (${Object.keys(trust.policy.pcrs).length} PCR(s) pinned, max age ${trust.policy.maxAgeSeconds} s); trusted roots: ${rootNames}`);
    // The route (direct or which proxy) is the session's: attestation and every upload after it take it.
    let options: ConnectOptions = {
      roots: trust.roots,
      policy: trust.policy,
      timeoutMs: settings.requestTimeoutMs,
      signal: stop,
      proxy: settings.proxy,
      environment: settings.proxyEnvironment,
      allowInspectedTls: settings.allowInspectedTls,
    };
    let session: AttestedSession;
    try {
      // The proxy VS Code would take from the system or a PAC script counts only where no setting or variable names
      // one; asking it is within the verification's time bound.
      const system = settings.proxy.proxySupport === 'off' ? undefined : await untilAborted(editorProxyFor(this.#resolveProxy, server), stop, () => undefined);
      if (system !== undefined) {
        this.#log(`VS Code resolves ${server} through ${system.replace(/\/\/[^@/]*@/, '//')} (its settings, the environment, or the system or PAC)`);
        options = { ...options, proxy: { ...settings.proxy, system } };
      }
      session = await untilAborted(this.#connect(server, options), stop, closeLate);
    } catch (err) {
      const refused = deadline.aborted
        ? failure('TIMEOUT', `The attestation of ${new URL(server).host} did not complete within ${Math.round((settings.requestTimeoutMs + VERIFY_MARGIN_MS) / 1000)} s.`)
        : cancel.aborted
          ? failure('CANCELLED', String((cancel.reason as Error)?.message ?? 'The verification was cancelled.'))
          : describeFailure(err);
      // A cancelled attempt proves nothing either way: the session in force (if any) stays.
      if (current() && refused.code !== 'CANCELLED') await this.drop();
      const observed = refused.code === 'PCR_MISMATCH' ? await this.#observe(server, options, stop) : undefined;
      return { ok: false, failure: refused, policy: trust.policy, observed };
    }
    if (!current()) {
      // Settings changed while this attestation ran: its session answers an outdated question.
      await session.close();
      return { ok: false, failure: failure('CANCELLED', 'A newer verification replaced this one.'), policy: trust.policy };
    }
    const { attestation, simulation } = session.attested;
    this.#log(
      `verified ${server} (connected ${describeRoute(session.route)}): module ${quoteServerText(attestation.moduleId, 120)}, PCR0 ${attestation.pcrs[0]?.slice(0, 16) ?? '(absent)'}…, document ${attestation.documentSha256.slice(0, 16)}…, root ${quoteServerText(attestation.root.label, 200)}${simulation ? ' — SIMULATION, not confidential' : ''}`,
    );
    const old = this.#current;
    this.#current = { session, key, digest: trustDigest(trust), policy: trust.policy };
    await old?.session.close();
    return { ok: true, session, policy: trust.policy, reused: false };
  }

  /**
   * After PCR_MISMATCH: attests once more with no PCR expectations, only to show
   * which measurements the server has. The session is closed at once and never
   * used; any failure just means nothing is shown.
   */
  async #observe(server: string, options: ConnectOptions, stop: AbortSignal): Promise<AttestedEnclave | undefined> {
    try {
      const probe = await untilAborted(this.#connect(server, { ...options, policy: { ...options.policy!, pcrs: {} } }), stop, closeLate);
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

  /** Aborts the attestation in flight, if any (its connection is closed): its question no longer stands. */
  cancel(): void {
    this.#inflight?.controller.abort(new Error('The verification was cancelled.'));
    this.#inflight = undefined;
  }

  /** Closes everything; an attestation in flight is aborted. */
  async dispose(): Promise<void> {
    this.cancel();
    await this.drop();
  }
}

function cancelled(settings: ExtensionSettings, message: string): AttestOutcome {
  return { ok: false, failure: failure('CANCELLED', message), policy: knownPolicy(settings) };
}

function closeLate(session: AttestedSession): void {
  void session.close();
}

/**
 * `work`, or a rejection as soon as `signal` aborts, whether or not the work behind it honours the signal (the
 * extension does not rely on the core for its deadline). A result that arrives after the abort goes to `late`.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, late: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (aborted) late(value);
        else resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
