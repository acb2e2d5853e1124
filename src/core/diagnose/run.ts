/**
 * A network diagnosis of a BlindBox server: the stages a connection goes through, run one after the other, each within
 * its own time limit, and reported one by one (report.ts) so that a user can paste where it stopped into a ticket:
 * (1) the URL, (2) the route (direct or which proxy, and why: proxy-route.ts decides, as for every session),
 * (3) name resolution (direct only: through a proxy, the proxy resolves), (4) TCP, and through a proxy its CONNECT
 * answer, (5) the certificate the network presents, looked at without being trusted, (6) attestation under the
 * user's trust settings (a real `AttestedSession`, so the verdict is the session's own), (7) whether the key the
 * network presents is the attested one, naming a TLS-inspecting middlebox and its issuer when it is not.
 *
 * Nothing but TLS handshakes and the attestation request is ever sent: no audio, no other request. A step that
 * fails ends the diagnosis; the later ones are reported as skipped.
 */
import { X509Certificate } from 'node:crypto';
import { isIP, type Socket } from 'node:net';
import type { TrustedRoot } from '../attestation/roots.js';
import { BlindBoxError, ChannelError } from '../errors.js';
import type { AttestationPolicy } from '../policy.js';
import { presentedFact, spkiOf, type TlsBinding } from '../transport/attested-enclave.js';
import { startDeadline } from '../transport/deadline.js';
import { openTunnel } from '../transport/pinned-connector.js';
import { describeRoute, resolveRoute, type ProxyEnvironment, type ProxyRoute, type ProxySettings } from '../transport/proxy-route.js';
import { toChannelError } from '../transport/responses.js';
import { parseServerOrigin } from '../transport/server-origin.js';
import { AttestedSession } from '../transport/session.js';
import { sha256Hex } from '../util/sha256.js';
import { endSentence, oneLine, quoteServerText } from '../../shared/text.js';
import { openTcp, presentedCertificate, resolveName } from './probe.js';
import type { DiagnosticError, DiagnosticReport, DiagnosticStep, DiagnosticStepId } from './report.js';

export interface DiagnoseOptions {
  /** Trust anchors for the attestation; default: the AWS Nitro Enclaves Root G1 only (as `connect`). */
  readonly roots?: readonly TrustedRoot[];
  readonly policy?: AttestationPolicy;
  /** Explicit proxy settings (VS Code's `http.*`, the CLI's flags), as for `connect`. */
  readonly proxy?: ProxySettings;
  /** The environment whose HTTPS_PROXY / NO_PROXY apply; default none. */
  readonly environment?: ProxyEnvironment;
  /** Time limit of each step (default 10 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** As for `connect`: TLS a middlebox terminates is allowed for sealed bodies (then diagnosed as such, not as a failure). */
  readonly allowInspectedTls?: boolean;
  readonly inspectionCas?: readonly string[];
  /** Injectable clock (tests), as for `connect`. */
  readonly clock?: () => Date;
  /** Told of each step as it is decided (a progress display), the skipped ones included. */
  readonly onStep?: (step: DiagnosticStep, index: number, of: number) => void;
}

const DEFAULT_STEP_TIMEOUT_MS = 10_000;

const TITLES: Readonly<Record<DiagnosticStepId, string>> = {
  url: 'Server URL',
  route: 'Route: direct or through a proxy',
  resolve: 'Name resolution',
  connect: 'TCP connection',
  tls: 'TLS: the certificate the network presents',
  attestation: 'Attestation under your trust settings',
  binding: 'Presented TLS key against the attested key',
};

/** The connect step's title on a proxy route. */
const TUNNEL_TITLE = 'TCP connection to the proxy, and its CONNECT answer';

const ORDER = Object.keys(TITLES) as DiagnosticStepId[];

/** Why a route was chosen, in words (never a credential). */
function routeReason(route: ProxyRoute): string {
  if (route.kind === 'proxy') {
    return {
      setting: 'the proxy setting names it (--proxy, or VS Code\'s http.proxy)',
      env: 'the environment names it (HTTPS_PROXY / https_proxy, or HTTP_PROXY)',
      system: 'the system or PAC proxy that VS Code\'s resolver chose',
    }[route.source];
  }
  return {
    off: 'proxies are switched off (--no-proxy, or VS Code\'s http.proxySupport: off)',
    localhost: 'the server is this machine (localhost, 127.0.0.1 and ::1 always go direct)',
    noProxySetting: 'VS Code\'s http.noProxy names the server',
    noProxyEnv: 'NO_PROXY names the server',
    unconfigured: 'no proxy is configured (no proxy setting, HTTPS_PROXY or system proxy)',
  }[route.why];
}

/** A failure as the report shows it. */
function errorOf(err: unknown, origin: URL | undefined): DiagnosticError {
  const e = err instanceof BlindBoxError || origin === undefined ? err : toChannelError(err, origin);
  if (e instanceof BlindBoxError) return { code: oneLine(e.code, 64), message: oneLine(e.message, 1000) };
  return { code: 'INTERNAL', message: oneLine(String((e as Error)?.message ?? e), 1000) };
}

/**
 * Runs `work` within `ms` (or until `parent` aborts); its signal aborts at the deadline so it can let go of sockets,
 * and a result that arrives after the deadline goes to `release` (a tunnel or session nobody will use is closed).
 */
async function bounded<T>(ms: number, what: string, parent: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>, release: (late: T) => void = () => undefined): Promise<T> {
  const deadline = startDeadline(ms, what, parent);
  try {
    if (deadline.signal.aborted) throw deadline.failure();
    const stopped = new Promise<never>((_, reject) => deadline.signal.addEventListener('abort', () => reject(deadline.failure()), { once: true }));
    const running = work(deadline.signal);
    running.then((value) => deadline.signal.aborted && release(value), () => undefined);
    return await Promise.race([running, stopped]);
  } finally {
    deadline.dispose();
  }
}

/** `CN=…, O=…` names and key of a certificate, as facts. */
function certificateFacts(cert: X509Certificate): [string, string][] {
  const { subject, issuer } = presentedFact(cert);
  return [
    ['subject', quoteServerText(subject, 200)],
    ['issuer', quoteServerText(issuer, 200)],
    ['key SHA-256', sha256Hex(spkiOf(cert))],
    ['certificate SHA-256', sha256Hex(cert.raw)],
    ['valid', `${oneLine(cert.validFrom, 40)} → ${oneLine(cert.validTo, 40)}`],
  ];
}

/** Diagnoses the way to the server at `url`; never throws for what it finds (a failed step says it). */
export async function runDiagnostics(url: string, options: DiagnoseOptions = {}): Promise<DiagnosticReport> {
  const startedAt = (options.clock ?? (() => new Date()))().toISOString();
  const ms = options.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  const steps: DiagnosticStep[] = [];
  const add = (id: DiagnosticStepId, step: Omit<DiagnosticStep, 'id' | 'title'>, title = TITLES[id]) => {
    steps.push({ id, title, ...step });
    options.onStep?.(steps.at(-1)!, steps.length - 1, ORDER.length);
  };
  const finish = (): DiagnosticReport => {
    const failed = steps.find((s) => s.status === 'failed');
    for (const id of ORDER.slice(steps.length)) add(id, { status: 'skipped', facts: [], note: `not run: step ${ORDER.indexOf(failed!.id) + 1} (${failed!.id}) failed` });
    return { url: oneLine(url, 300), startedAt, steps, ok: failed === undefined };
  };

  // 1. URL
  let origin: URL;
  try {
    origin = parseServerOrigin(url);
  } catch (err) {
    add('url', { status: 'failed', facts: [], error: errorOf(err, undefined) });
    return finish();
  }
  const hostname = origin.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(origin.port || 443);
  const target = `${origin.hostname}:${port}`;
  add('url', { status: 'ok', facts: [['origin', origin.origin], ['host', hostname], ['port', String(port)]] });

  // 2. Route
  let route: ProxyRoute;
  try {
    route = resolveRoute(origin, options.proxy, options.environment);
  } catch (err) {
    add('route', { status: 'failed', facts: [], error: errorOf(err, undefined) });
    return finish();
  }
  add('route', {
    status: 'ok',
    facts: [
      ['route', describeRoute(route)],
      ['why', routeReason(route)],
      ...(route.kind === 'proxy' ? [['credentials', route.authorization ? 'sent with CONNECT (not shown)' : 'none'] as [string, string]] : []),
    ],
  });

  // 3. Name resolution
  let address = hostname;
  if (route.kind === 'proxy') {
    add('resolve', { status: 'skipped', facts: [], note: `the proxy resolves ${hostname}: a connection through a proxy needs no name resolution here` });
  } else if (isIP(hostname)) {
    add('resolve', { status: 'ok', facts: [['address', hostname]], note: 'an IP address: nothing to resolve' });
  } else {
    try {
      const addresses = await bounded(ms, `Resolving ${hostname}`, options.signal, () => resolveName(hostname));
      address = addresses[0]!;
      add('resolve', { status: 'ok', facts: [['addresses', oneLine(addresses.join(', '), 300)]] });
    } catch (err) {
      const reason = err instanceof BlindBoxError ? err : new ChannelError('SERVER_UNREACHABLE', endSentence(`The name ${hostname} does not resolve on this machine (${oneLine((err as NodeJS.ErrnoException).code ?? String(err), 80)})`));
      add('resolve', { status: 'failed', facts: [], error: errorOf(reason, origin), note: 'if this network reaches servers only through a proxy, name it (--proxy, HTTPS_PROXY, or VS Code\'s http.proxy)' });
      return finish();
    }
  }

  // 4. TCP (and CONNECT)
  let socket: Socket;
  try {
    if (route.kind === 'proxy') {
      socket = await bounded(ms, `The tunnel to ${target} through proxy ${route.proxy}`, options.signal, (signal) => openTunnel(route as Extract<ProxyRoute, { kind: 'proxy' }>, target, ms, signal), (late) => late.destroy());
      add('connect', { status: 'ok', facts: [['proxy', route.proxy], ['tunnel', `CONNECT ${target}: 200, tunnel open`]] }, TUNNEL_TITLE);
    } else {
      socket = await bounded(ms, `The TCP connection to ${target}`, options.signal, (signal) => openTcp(address, port, signal));
      add('connect', { status: 'ok', facts: [['connected', `${isIP(address) === 6 ? `[${address}]` : address}:${port} (direct)`]] });
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = err instanceof BlindBoxError || code === undefined ? err : new ChannelError('SERVER_UNREACHABLE', endSentence(`Cannot talk to ${target} ${describeRoute(route)}: ${oneLine(code, 80)}`));
    add('connect', { status: 'failed', facts: [['route', describeRoute(route)]], error: errorOf(reason, origin) }, route.kind === 'proxy' ? TUNNEL_TITLE : undefined);
    return finish();
  }

  // 5. TLS, looked at, not trusted
  let presented: X509Certificate;
  try {
    const handshake = await bounded(ms, `The TLS handshake with ${target}`, options.signal, (signal) => presentedCertificate(socket, isIP(hostname) ? undefined : hostname, signal));
    presented = handshake.certificate;
    add('tls', { status: 'ok', facts: [['protocol', oneLine(handshake.protocol, 20)], ...certificateFacts(presented)], note: 'looked at without trusting it; nothing was sent on this connection' });
  } catch (err) {
    socket.destroy();
    const reason = err instanceof BlindBoxError ? err : new ChannelError('PROTOCOL_ERROR', endSentence(`${target} did not complete a TLS handshake ${describeRoute(route)}: ${oneLine((err as NodeJS.ErrnoException).code ?? (err as Error).message ?? String(err), 120)}`));
    add('tls', { status: 'failed', facts: [], error: errorOf(reason, origin) });
    return finish();
  }

  // 6. Attestation, by a real session: the verdict is the session's own.
  let attestedKey: string;
  let inspectedBy: TlsBinding['inspectedBy'];
  try {
    const session = await bounded(ms, `The attestation of ${target}`, options.signal, (signal) =>
      AttestedSession.connect(origin, {
        roots: options.roots,
        policy: options.policy,
        proxy: options.proxy,
        environment: options.environment,
        allowInspectedTls: options.allowInspectedTls,
        inspectionCas: options.inspectionCas,
        timeoutMs: ms,
        signal,
        clock: options.clock,
        attempts: 1,
        maxConnections: 1,
      }),
      (late) => void late.close(),
    );
    const { attestation, simulation, binding } = session.attested;
    await session.close();
    attestedKey = binding.attestedKeySha256;
    inspectedBy = binding.bound ? undefined : binding.inspectedBy;
    add('attestation', {
      status: 'ok',
      facts: [
        ['verdict', simulation ? 'VERIFIED, SIMULATION: the chain does not end in AWS\'s root (not confidential)' : 'VERIFIED'],
        ['root', oneLine(attestation.root.label, 200)],
        ['policy', quoteServerText(options.policy?.name ?? 'default', 120)],
        ['module', quoteServerText(attestation.moduleId, 120)],
        ['issued', new Date(attestation.timestamp).toISOString()],
        ['PCR0', oneLine(attestation.pcrs[0] ?? '(none)', 100)],
        ['attested key SHA-256', attestedKey],
        ['route', describeRoute(session.route)],
      ],
    });
  } catch (err) {
    add('attestation', { status: 'failed', facts: [], error: errorOf(err, origin) });
    // The session's refusal names the certificate its own connection met: the middlebox, by its issuer.
    const seen = err instanceof ChannelError && err.code === 'TLS_BINDING_MISMATCH' ? err.presented : undefined;
    if (seen) {
      add('binding', {
        status: 'failed',
        facts: [['presented key SHA-256', sha256Hex(spkiOf(presented))], ['presented by', quoteServerText(seen.subject, 200)], ['issuer', quoteServerText(seen.issuer, 200)]],
        error: {
          code: 'TLS_BINDING_MISMATCH',
          message: oneLine(`TLS inspection: the network presents a certificate issued by ${quoteServerText(seen.issuer, 200)}, not the key the enclave attested: a TLS-inspecting proxy or firewall (a middlebox) terminates TLS between you and the enclave.`, 1000),
        },
        note: `no audio can be sent this way; ask your IT department to exempt ${target} from TLS inspection, or allow the audio sealed to the enclave through it (--allow-inspected-tls; in VS Code, blindbox.allowInspectedTls)`,
      });
    }
    return finish();
  }

  // 7. The key the network presents against the attested one
  const presentedKey = sha256Hex(spkiOf(presented));
  if (inspectedBy) {
    // The session accepted it (allowed, and valid for the system's trust store): say what that means for the audio.
    add('binding', {
      status: 'ok',
      facts: [['presented key SHA-256', presentedKey], ['attested key SHA-256', attestedKey], ['presented by', quoteServerText(inspectedBy.subject, 200)], ['issuer', quoteServerText(inspectedBy.issuer, 200)]],
      note: `TLS inspected by ${quoteServerText(inspectedBy.issuer, 200)}, allowed: the audio goes sealed end to end to the enclave's attested HPKE key, never in the inspected TLS alone`,
    });
    return finish();
  }
  add('binding', {
    status: 'ok',
    facts: [['presented key SHA-256', presentedKey], ['attested key SHA-256', attestedKey]],
    note: presentedKey === attestedKey
      ? 'the same key: nothing between you and the enclave terminates TLS'
      : 'the first connection met another key than the attested connection: behind a balancer, another enclave (every connection BlindBox uses is attested on itself)',
  });
  return finish();
}
