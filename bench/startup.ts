/**
 * `npm run bench` (startup): what a person waits for when typing a `blindbox` command, measured as whole processes
 * against a bare `node -e 0`, and what a never-seen certificate chain costs against one bare P-384 verify. Prints
 * figures and ratios measured in this one run; it never asserts timing.
 *
 *   (1) whole process  `node bin/blindbox.cjs …` (the installed `blindbox`) from spawn to exit, for `--help`, one real
 *                      `verify-doc` of a real Nitro document, a real `verify` of a live simulation server on loopback
 *                      and a real `verify-receipt` of a receipt that server signed (the server, `blindbox serve
 *                      --simulate`, runs as its own process, started once), each command's `--help`, and each command
 *                      loaded and refusing a missing file or a bad flag (the command's own modules imported, no
 *                      network); rounds interleave every case with the bare start, so a busy machine slows all alike.
 *                      Beside them, verify's network floor: a bare `node` that fetches one attestation document from
 *                      the same server with node:https (a TLS handshake and one GET, nothing loaded, nothing checked),
 *                      a bare `node` that loads the CLI bundle as launch.ts does for verify (compiled from its code
 *                      cache, its module code run) and runs no command: what loading the code costs before any of it
 *                      works (these two parts start from `node -e` scripts, the second through the ES-module loader
 *                      that bundle.ts needs, which the CommonJS bin spares the real commands); the
 *                      same verify with the bundle compiled without its code cache (src/cli/bundle.ts); and with the
 *                      CLI's baselineWasmOnly() made a no-op (src/cli/baseline-wasm.ts), as it ran before both: V8
 *                      then optimises undici's HTTP parser at compile time, and the cache, made under the baseline
 *                      flag, does not match.
 *   (2) chain          verifyAttestation of each real document at its own timestamp with clearChainCaches() before
 *                      every call (certificates parsed and chain signatures checked again), interleaved with one bare
 *                      crypto.verify('sha384', …) of a fresh P-384 key; both in CPU time (process.cpuUsage), since on
 *                      a shared machine the wall time of a 10 ms call is inflated by preemption far more than a 1 ms one.
 *                      Then the chain's floor, each part over the same bare verify: the signatures it must check (one
 *                      per link below the trusted root, and the document's own COSE signature), OpenSSL's parse of
 *                      each never-seen certificate (X509Certificate), and asn1js's read of the fields OpenSSL does not
 *                      expose on Node 20 (readCertificate).
 *
 * Options (environment): BENCH_STARTUP_RUNS (default 15), BENCH_CHAIN_REPEATS (default 100).
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IGNORE_V8_FLAGS, startServe } from '../support/cli.js';
import { readCertificate } from '../src/core/attestation/certificate.js';
import { parseCoseSign1 } from '../src/core/attestation/cose.js';
import { parsePayload } from '../src/core/attestation/payload.js';
import { clearChainCaches, verifyAttestation } from '../src/core/index.js';
import { cpuMs, median, ms, quantile, sampleInterleaved, table, times } from './stats.js';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 15);
const CHAIN_REPEATS = Number(process.env.BENCH_CHAIN_REPEATS ?? 100);
const CHAIN_WARMUP = 20;
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${REPO}bin/blindbox.cjs`;
const NITRO = `${REPO}test/fixtures/nitro/`;
const SAMPLE = `${REPO}media/sample.wav`;
const DOC = 'real_8';
/** A whole-process goal: every command within this multiple of a bare Node start. */
const PROCESS_GOAL = 2;
const CHAIN_GOAL = 6;

const documents = readdirSync(NITRO)
  .filter((f) => /^real_\d+\.cbor$/.test(f))
  .sort()
  .map((file) => {
    const bytes = readFileSync(NITRO + file);
    const payload = parsePayload(parseCoseSign1(bytes).payload);
    // cabundle[0] is the trusted root, parsed once as configuration: a never-seen chain is the rest.
    return { name: file.replace('.cbor', ''), bytes, at: new Date(payload.timestamp), unseen: [...payload.cabundle.slice(1), payload.certificate] };
  });
const doc = documents.find((d) => d.name === DOC)!;

// ---- (1) whole processes ---------------------------------------------------------------------------------------
// A live simulation server for `verify`, and one receipt it signed for `verify-receipt` (made once, not timed).
const dir = mkdtempSync(path.join(tmpdir(), 'blindbox-startup-'));
const rootPem = path.join(dir, 'root.pem');
const receiptFile = path.join(dir, 'sample.receipt.json');
const transcriptFile = path.join(dir, 'sample.txt');
const serve = await startServe(['--simulate', '--port', '0', '--workers', '1', '--trust-out', rootPem]);
const made = spawnSync(process.execPath, [BIN, 'transcribe', serve.url, SAMPLE, '--trust-root', rootPem, '--receipt', receiptFile], { encoding: 'utf8', timeout: 120_000 });
if (made.status !== 0) throw new Error(`the receipt for verify-receipt could not be made: ${made.stderr}`);
writeFileSync(transcriptFile, made.stdout);

interface Case {
  readonly label: string;
  readonly argv: readonly string[];
  /** The exit code the command must give (a run that fails differently measures the wrong thing). */
  readonly exit: number;
}
const cli = (label: string, exit: number, ...args: string[]): Case => ({ label: `blindbox ${label}`, argv: [BIN, ...args], exit });
const bare: Case = { label: 'node -e 0', argv: ['-e', '0'], exit: 0 };
/** verify's floor: one TLS handshake and one GET of an attestation document, unverified (the server's key is not pinned). */
const FETCH_ONE_DOCUMENT = `require('node:https').get(process.argv[1] + '/attestation?nonce=' + '00'.repeat(32), { rejectUnauthorized: false }, (r) => {
  if (r.statusCode !== 200) process.exit(1);
  r.resume().on('end', () => process.exit(0));
});`;
const fetchFloor: Case = { label: '  floor: node:https GET /attestation', argv: ['-e', FETCH_ONE_DOCUMENT, serve.url], exit: 0 };
/** Loads the bundle as launch.ts does (flag, then compile) and then `then`: a script for `node --input-type=module -e`. */
const launchInline = (cache: 'verify' | 'help' | undefined, then: string) =>
  `import { baselineWasmOnly } from ${JSON.stringify(`${REPO}out/src/cli/baseline-wasm.js`)}; import { loadBundle } from ${JSON.stringify(`${REPO}out/src/cli/bundle.js`)};` +
  ` baselineWasmOnly(); const bundle = loadBundle(${JSON.stringify(cache)}); if (bundle.cached !== ${cache !== undefined}) throw new Error('code cache ${cache ? 'not taken' : 'taken'}'); ${then}`;
const loadOnly: Case = { label: "  the bundle, compiled from verify's cache and loaded only", argv: ['--input-type=module', '-e', launchInline('verify', '')], exit: 0 };
const verifyUncached: Case = {
  label: '  verify, bundle compiled without a code cache',
  argv: ['--input-type=module', '-e', launchInline(undefined, 'process.exitCode = await bundle.main(process.argv.slice(1));'), 'verify', serve.url, '--trust-root', rootPem],
  exit: 0,
};
const verifyBefore: Case = { label: '  verify, WebAssembly optimised (no baseline flag, no code cache)', argv: ['--import', IGNORE_V8_FLAGS, BIN, 'verify', serve.url, '--trust-root', rootPem], exit: 0 };
const parts = new Set([fetchFloor, loadOnly, verifyUncached, verifyBefore]);
const cases: Case[] = [
  bare,
  cli('--help', 0, '--help'),
  cli(`verify-doc ${DOC}.cbor`, 0, 'verify-doc', `${NITRO}${DOC}.cbor`, '--at', String(doc.at.getTime())),
  cli('verify-doc --help', 0, 'verify-doc', '--help'),
  cli('verify (live simulation)', 0, 'verify', serve.url, '--trust-root', rootPem),
  verifyUncached,
  verifyBefore,
  fetchFloor,
  loadOnly,
  cli('verify-receipt sample.receipt.json', 0, 'verify-receipt', receiptFile, '--audio', SAMPLE, '--transcript', transcriptFile, '--trust-root', rootPem),
  cli('verify-receipt --help', 0, 'verify-receipt', '--help'),
  cli('verify-receipt (missing file)', 2, 'verify-receipt', '/nonexistent/receipt.json', '--audio', '/nonexistent/a.wav', '--transcript', '/nonexistent/t.txt'),
  cli('verify-evidence (missing file)', 2, 'verify-evidence', '/nonexistent/evidence.json'),
  cli('verify (bad flag)', 2, 'verify', 'https://127.0.0.1:1', '--max-age', 'x'),
  cli('transcribe --help', 0, 'transcribe', '--help'),
  cli('transcribe (missing file)', 2, 'transcribe', 'https://127.0.0.1:1', '/nonexistent/a.wav'),
  cli('serve --help', 0, 'serve', '--help'),
  cli('serve (bad flag)', 2, 'serve', '--port', 'x'),
];

/**
 * CPU milliseconds (user + system, every thread) used so far by this process's waited-for children, from Linux's
 * /proc/self/stat (cutime, cstime; clock ticks of 10 ms); undefined elsewhere. Unlike wall time, not stretched by
 * other processes holding the CPU.
 */
function childrenCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10; // fields 16 and 17 of proc(5), counted from the state (field 3)
  } catch {
    return undefined;
  }
}

function run(c: Case): { wall: number; cpu: number | undefined } {
  const cpuBefore = childrenCpuMs();
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, c.argv, { encoding: 'utf8', timeout: 60_000 });
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  const cpuAfter = childrenCpuMs();
  if (r.status !== c.exit) throw new Error(`${c.label} exited ${String(r.status)}, expected ${c.exit}: ${r.stderr}`);
  return { wall, cpu: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore };
}

const samples = new Map<Case, number[]>(cases.map((c) => [c, []]));
const cpuSamples = new Map<Case, number[]>(cases.map((c) => [c, []]));
for (const c of cases) run(c); // warm the file cache
for (let round = 0; round < RUNS; round++) {
  // Each round starts at a different case, so no case always follows the same one.
  for (let i = 0; i < cases.length; i++) {
    const c = cases[(round + i) % cases.length]!;
    const { wall, cpu } = run(c);
    samples.get(c)!.push(wall);
    if (cpu !== undefined) cpuSamples.get(c)!.push(cpu);
  }
}
await serve.stop();
rmSync(dir, { recursive: true, force: true });
const bareMs = median(samples.get(bare)!);
const bareCpu = median(cpuSamples.get(bare)!);
const hasCpu = Number.isFinite(bareCpu);

// ---- (2) a never-seen chain ------------------------------------------------------------------------------------
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const data = randomBytes(4096);
const signature = sign('sha384', data, privateKey);
const bareVerify = () => {
  if (!verify('sha384', data, publicKey, signature)) throw new Error('the yardstick signature did not verify');
};
const chainRows = documents.map((d) => {
  const [fresh, ref] = sampleInterleaved(() => verifyAttestation(d.bytes, { now: d.at }), bareVerify, CHAIN_REPEATS, CHAIN_WARMUP, clearChainCaches, cpuMs);
  return { name: d.name, fresh: median(fresh), p90: quantile(fresh, 0.9), bare: median(ref), ratio: median(fresh) / median(ref) };
});

// The floor of one chain, on the document measured above: each part interleaved with the bare verify.
const floorOf = (d: (typeof documents)[number]) => {
  const root = new X509Certificate(parsePayload(parseCoseSign1(d.bytes).payload).cabundle[0]!);
  const chain = [root, ...d.unseen.map((der) => new X509Certificate(der))];
  const part = (fn: () => unknown) => {
    const [a, b] = sampleInterleaved(fn, bareVerify, CHAIN_REPEATS, CHAIN_WARMUP, undefined, cpuMs);
    return median(a) / median(b);
  };
  const links = d.unseen.length;
  return [
    [`${links} certificate signatures (links below the root)`, part(() => chain.slice(1).forEach((c, i) => c.verify(chain[i]!.publicKey)))],
    ['1 COSE signature (as the bare verify)', 1],
    [`${links} × new X509Certificate (OpenSSL parse)`, part(() => d.unseen.forEach((der) => new X509Certificate(der)))],
    [`${links} × readCertificate (asn1js)`, part(() => d.unseen.forEach((der) => readCertificate(der)))],
  ] as const;
};
const floorRows = floorOf(doc);

// ---- report ----------------------------------------------------------------------------------------------------
const out: string[] = [];
out.push(`blindbox start-up benchmark — Node ${process.version}, ${cpus()[0]?.model.trim() ?? 'unknown CPU'} (${availableParallelism()} CPUs)`);
out.push('');
out.push(`(1) whole process, spawn to exit, median of ${RUNS} interleaved rounds; "× bare" divides by the median of \`node -e 0\` (${ms(bareMs)} ms wall${hasCpu ? `, ${ms(bareCpu)} ms CPU` : ''});`);
out.push('    CPU: user + system time of the child, all threads (Linux, 10 ms ticks), robust to a busy machine:');
out.push('');
const rows: string[][] = [['command', 'wall ms', 'p10', 'p90', '× bare', ...(hasCpu ? ['CPU ms', '× bare'] : [])]];
for (const c of cases) {
  const s = samples.get(c)!;
  const cpu = median(cpuSamples.get(c)!);
  rows.push([c.label, ms(median(s)), ms(quantile(s, 0.1)), ms(quantile(s, 0.9)), times(median(s), bareMs), ...(hasCpu ? [ms(cpu), times(cpu, bareCpu)] : [])]);
}
out.push(table(rows));
out.push('');
out.push(`(2) never-seen chain: verifyAttestation after clearChainCaches(), CPU ms, median of ${CHAIN_REPEATS} after ${CHAIN_WARMUP} warm-up, over one bare P-384 verify interleaved with it:`);
out.push('');
out.push(table([['doc', 'ms', 'p90', 'bare ms', '× bare'], ...chainRows.map((r) => [r.name, ms(r.fresh), ms(r.p90), ms(r.bare), times(r.ratio, 1)])]));
out.push('');
out.push(`    its floor, ${DOC} part by part (× bare, CPU, medians as above):`);
out.push('');
const signatures = floorRows[0][1] + floorRows[1][1];
out.push(table([['part', '× bare'], ...floorRows.map(([label, ratio]) => [label, times(ratio, 1)]), ['signatures alone', times(signatures, 1)], ['signatures + OpenSSL parse', times(signatures + floorRows[2][1], 1)]]));
out.push('');
const slowest = (of: Map<Case, number[]>, unit: number) => {
  const c = cases.filter((x) => x !== bare && !parts.has(x)).reduce((a, b) => (median(of.get(b)!) > median(of.get(a)!) ? b : a));
  return { label: c.label, ratio: median(of.get(c)!) / unit };
};
const wallWorst = slowest(samples, bareMs);
const cpuWorst = hasCpu ? slowest(cpuSamples, bareCpu) : undefined;
const worstChain = chainRows.reduce((a, b) => (b.ratio > a.ratio ? b : a));
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
out.push('goals (printed, not asserted):');
out.push(`  every command ≤ ${PROCESS_GOAL}× a bare Node start (wall): slowest ${wallWorst.label} ${times(wallWorst.ratio, 1)} → ${verdict(wallWorst.ratio <= PROCESS_GOAL)}`);
if (cpuWorst) out.push(`  every command ≤ ${PROCESS_GOAL}× a bare Node start (CPU): slowest ${cpuWorst.label} ${times(cpuWorst.ratio, 1)} → ${verdict(cpuWorst.ratio <= PROCESS_GOAL)}`);
out.push(`  never-seen chain ≤ ${CHAIN_GOAL} bare verifies: median ${times(median(chainRows.map((r) => r.ratio)), 1)}, worst ${worstChain.name} ${times(worstChain.ratio, 1)} → ${verdict(worstChain.ratio <= CHAIN_GOAL)}`);
process.stdout.write(out.join('\n') + '\n');
