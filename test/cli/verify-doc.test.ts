/**
 * The `verify-doc` command-line contract, exercised exactly as a user (or another tool) runs it:
 * the compiled CLI in a separate Node process, judged only by exit code, stdout and stderr.
 *
 *   verify-doc <file> [--at <ISO-8601 | unix-ms>] [--trust-root <pem>]... [--pcr <index>=<hex>]... [--nonce <hex>] [--max-age <seconds>] [--json]
 *   exit 0 verified, 1 rejected, 2 usage error or unreadable file.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { loadRealDocuments, NITRO_DIR, ROOT_PEM_PATH, type RealDocument } from '../../support/fixtures.js';

/** out/test/cli/verify-doc.test.js → out/src/cli/main.js and bin/blindbox.cjs of the package (the bundle `npm run build` makes). */
const MAIN_JS = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const BIN_JS = fileURLToPath(new URL('../../../bin/blindbox.cjs', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('../../../', import.meta.url));

/** The fingerprint AWS publishes for the Nitro Enclaves Root G1 (test/fixtures/nitro/README.md). */
const AWS_ROOT_SHA256 = '641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b';

const docs = loadRealDocuments();
const doc8 = byName('real_8');
/** A document that carries a nonce, to test a different (not a missing) nonce. */
const withNonce = docs.find((d) => d.nonce !== null)!;
const DOC8_PATH = docPath(doc8);
const DOC8_AT = new Date(doc8.timestampMs).toISOString();

function byName(name: string): RealDocument {
  const doc = docs.find((d) => d.name === name);
  assert.ok(doc, `fixture ${name} is present`);
  return doc;
}

function docPath(doc: RealDocument): string {
  return join(NITRO_DIR, `${doc.name}.cbor`);
}

interface Run {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Each run is a fresh Node process that loads the whole core (about half a second of CPU), so runs are limited to one per
 * CPU at a time (the tests themselves run concurrently) and identical invocations are made once.
 */
const MAX_PARALLEL = Math.max(1, availableParallelism());
let running = 0;
const waiting: (() => void)[] = [];
const memo = new Map<string, Promise<Run>>();

async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Runs `node <script> ...args` in a fresh process, never rejecting: the exit code is what is under test. */
function run(args: readonly string[], script = MAIN_JS): Promise<Run> {
  const key = JSON.stringify([script, args]);
  let result = memo.get(key);
  if (!result) {
    result = withSlot(() => spawnCli(args, script));
    memo.set(key, result);
  }
  return result;
}

function spawnCli(args: readonly string[], script: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { cwd: PACKAGE_DIR, timeout: 30_000, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
      if (e && typeof e.code !== 'number' && e.code !== undefined && e.code !== null) {
        // Could not start the process at all (ENOENT, maxBuffer, ...): not a CLI outcome.
        resolve({ status: null, signal: e.signal ?? null, stdout, stderr: `${stderr}\n[spawn error ${String(e.code)}: ${e.message}]` });
        return;
      }
      resolve({ status: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

function describeRun(r: Run): string {
  return `exit ${String(r.status)}${r.signal ? ` (signal ${r.signal})` : ''}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** stdout must be exactly one JSON object on one line. */
function parseJsonLine(r: Run): Record<string, unknown> {
  assert.ok(r.stdout.endsWith('\n'), `stdout ends with a newline\n${describeRun(r)}`);
  const lines = r.stdout.slice(0, -1).split('\n');
  assert.equal(lines.length, 1, `exactly one line on stdout\n${describeRun(r)}`);
  const value: unknown = JSON.parse(lines[0]!);
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), 'stdout is a JSON object');
  return value as Record<string, unknown>;
}

const HEX = /^[0-9a-f]+$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function assertHexOrNull(value: unknown, what: string): void {
  if (value === null) return;
  assert.equal(typeof value, 'string', `${what} is a hex string or null`);
  assert.match(value as string, HEX, `${what} is lower-case hex`);
  assert.equal((value as string).length % 2, 0, `${what} is whole bytes`);
}

/** The exact shape of a verified report: key set and types, nothing more, nothing less. */
function assertVerifiedShape(report: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(report).sort(), ['chain', 'digest', 'moduleId', 'nonce', 'ok', 'pcrs', 'publicKey', 'timestamp', 'userData']);
  assert.equal(report.ok, true);
  assert.equal(typeof report.moduleId, 'string');
  assert.ok(Number.isSafeInteger(report.timestamp), 'timestamp is an integer of milliseconds');
  assert.equal(report.digest, 'SHA384');

  const pcrs = report.pcrs as Record<string, unknown>;
  assert.ok(typeof pcrs === 'object' && pcrs !== null && !Array.isArray(pcrs), 'pcrs is an object');
  assert.ok(Object.keys(pcrs).length >= 1);
  for (const [index, value] of Object.entries(pcrs)) {
    assert.match(index, /^(\d|[12]\d|3[01])$/, 'PCR keys are indices 0..31');
    assert.equal(typeof value, 'string');
    assert.match(value as string, HEX);
    assert.ok([64, 96, 128].includes((value as string).length), `PCR${index} is 32, 48 or 64 bytes`);
  }

  assertHexOrNull(report.publicKey, 'publicKey');
  assertHexOrNull(report.userData, 'userData');
  assertHexOrNull(report.nonce, 'nonce');

  assert.ok(Array.isArray(report.chain), 'chain is an array');
  for (const entry of report.chain as unknown[]) {
    assert.ok(typeof entry === 'object' && entry !== null);
    const c = entry as Record<string, unknown>;
    assert.deepEqual(Object.keys(c).sort(), ['issuer', 'notAfter', 'notBefore', 'sha256', 'subject']);
    assert.equal(typeof c.subject, 'string');
    assert.equal(typeof c.issuer, 'string');
    for (const key of ['notBefore', 'notAfter'] as const) {
      assert.match(c[key] as string, ISO, `${key} is ISO-8601`);
      assert.equal(new Date(c[key] as string).toISOString(), c[key]);
    }
    assert.match(c.sha256 as string, /^[0-9a-f]{64}$/);
  }
}

/** The document's report agrees with its provenance note. */
function assertMatchesNote(report: Record<string, unknown>, doc: RealDocument, moduleId: string): void {
  assert.equal(report.moduleId, moduleId);
  assert.equal(report.timestamp, doc.timestampMs);
  const pcrs = report.pcrs as Record<string, string>;
  for (const [index, hex] of Object.entries(doc.pcrs)) assert.equal(pcrs[index], hex, `PCR${index}`);
  const chain = report.chain as Record<string, string>[];
  assert.equal(chain.length, 5);
  assert.equal(chain[0]!.sha256, AWS_ROOT_SHA256, 'root first: the AWS Nitro Enclaves Root G1');
  assert.equal(chain[0]!.subject, chain[0]!.issuer, 'the root is self-issued');
  for (let i = 1; i < chain.length; i++) assert.equal(chain[i]!.issuer, chain[i - 1]!.subject, `chain[${i}] is issued by chain[${i - 1}]`);
  assert.equal(chain.at(-1)!.notAfter, doc.leafNotAfter.toISOString(), 'leaf last');
  assert.equal(chain.at(-1)!.notBefore, doc.leafNotBefore.toISOString());
}

function assertRejected(r: Run, code: string): Record<string, unknown> {
  assert.equal(r.status, 1, describeRun(r));
  const report = parseJsonLine(r);
  assert.deepEqual(Object.keys(report).sort(), ['code', 'message', 'ok']);
  assert.equal(report.ok, false);
  assert.equal(report.code, code, String(report.message));
  assert.equal(typeof report.message, 'string');
  assert.match(report.message as string, /^[A-Z].*\.$/s, 'the message is a sentence');
  return report;
}

function assertUsageError(r: Run, stderrPattern?: RegExp): void {
  assert.equal(r.status, 2, describeRun(r));
  assert.equal(r.stdout, '', `nothing on stdout for a usage error\n${describeRun(r)}`);
  assert.notEqual(r.stderr.trim(), '', 'a message on stderr');
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'a message, not a stack trace');
  if (stderrPattern) assert.match(r.stderr, stderrPattern);
}

const MODULE_ID_8 = 'i-0368fa67e156d6d23-enc019b8596b1a9dad6';

const scratch = mkdtempSync(join(tmpdir(), 'blindbox-cli-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('verify-doc --json on a real Nitro document', { concurrency: true }, () => {
  it('verifies with --at as ISO-8601 (exit 0), the report matching the provenance note', async () => {
    const r = await run(['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--json']);
    assert.equal(r.status, 0, describeRun(r));
    const report = parseJsonLine(r);
    assertVerifiedShape(report);
    assertMatchesNote(report, doc8, MODULE_ID_8);
    assert.equal((report.pcrs as Record<string, string>)['0'], '4b8d4cf2a99e05ce1b5bddaf9d21cb446eb0e606c5bebd1ebf02b473a22165f7b68b0bb0d1ac5a90f0311e493522cfab');
    assert.equal(report.userData, '69553adc61d6e9fcdecbe1ea49bb2b52a60238e0');
    assert.equal(report.publicKey, null);
    assert.equal(report.nonce, null);
    assert.equal(r.stderr, '');
  });

  it('verifies with --at as Unix milliseconds, with the same report', async () => {
    const [iso, ms] = await Promise.all([
      run(['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--json']),
      run(['verify-doc', DOC8_PATH, '--at', String(doc8.timestampMs), '--json']),
    ]);
    assert.equal(ms.status, 0, describeRun(ms));
    const report = parseJsonLine(ms);
    assertVerifiedShape(report);
    assertMatchesNote(report, doc8, MODULE_ID_8);
    assert.equal(ms.stdout, iso.stdout);
  });

  it('verifies a document carrying nonce, user_data and public_key, and reports them as hex', async () => {
    const r = await run(['verify-doc', docPath(withNonce), '--at', String(withNonce.timestampMs), '--json']);
    assert.equal(r.status, 0, describeRun(r));
    const report = parseJsonLine(r);
    assertVerifiedShape(report);
    assert.equal(report.timestamp, withNonce.timestampMs);
    assert.equal((report.nonce as string).length / 2, withNonce.nonce!.bytes);
    assert.ok((report.nonce as string).startsWith(withNonce.nonce!.hexPrefix));
  });

  it('with the right --pcr and --nonce and a generous --max-age still verifies', async () => {
    const args = ['verify-doc', docPath(withNonce), '--at', String(withNonce.timestampMs + 30_000), '--max-age', '60', '--json'];
    for (const [index, hex] of Object.entries(withNonce.pcrs)) args.push('--pcr', `${index}=${hex}`);
    const first = await run(['verify-doc', docPath(withNonce), '--at', String(withNonce.timestampMs), '--json']);
    const nonce = parseJsonLine(first).nonce as string;
    const r = await run([...args, '--nonce', nonce.toUpperCase()]);
    assert.equal(r.status, 0, describeRun(r));
    assertVerifiedShape(parseJsonLine(r));
  });

  it('is rejected today (no --at): exit 1, CERT_EXPIRED', async () => {
    assertRejected(await run(['verify-doc', DOC8_PATH, '--json']), 'CERT_EXPIRED');
  });

  it('--pcr 0=<wrong value> → exit 1, PCR_MISMATCH', async () => {
    const r = await run(['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--pcr', `0=${'ab'.repeat(48)}`, '--json']);
    assertRejected(r, 'PCR_MISMATCH');
  });

  it('--pcr for a PCR the document lacks → exit 1, PCR_MISMATCH', async () => {
    const r = await run(['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--pcr', `31=${'00'.repeat(48)}`, '--json']);
    assertRejected(r, 'PCR_MISMATCH');
  });

  it('--nonce different from the document’s → exit 1, NONCE_MISMATCH', async () => {
    const r = await run(['verify-doc', docPath(withNonce), '--at', String(withNonce.timestampMs), '--nonce', '00112233', '--json']);
    const report = assertRejected(r, 'NONCE_MISMATCH');
    assert.match(report.message as string, /different nonce/);
  });

  it('--nonce on a document without a nonce → exit 1, NONCE_MISMATCH', async () => {
    const r = await run(['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--nonce', '00112233', '--json']);
    const report = assertRejected(r, 'NONCE_MISMATCH');
    assert.match(report.message as string, /no nonce/);
  });

  it('--max-age 1 an hour after the timestamp (leaf still valid) → exit 1, STALE_DOCUMENT', async () => {
    const at = doc8.timestampMs + 3_600_000;
    assert.ok(at < doc8.leafNotAfter.getTime(), 'an hour later the leaf is still valid');
    const r = await run(['verify-doc', DOC8_PATH, '--at', new Date(at).toISOString(), '--max-age', '1', '--json']);
    assertRejected(r, 'STALE_DOCUMENT');
    // Without --max-age the same time verifies: it is the age policy, not the chain, that rejects.
    const ok = await run(['verify-doc', DOC8_PATH, '--at', new Date(at).toISOString(), '--json']);
    assert.equal(ok.status, 0, describeRun(ok));
  });

  it('--trust-root with the fixture AWS root PEM still verifies, to the same root', async () => {
    const r = await run(['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--trust-root', ROOT_PEM_PATH, '--json']);
    assert.equal(r.status, 0, describeRun(r));
    const report = parseJsonLine(r);
    assertVerifiedShape(report);
    assertMatchesNote(report, doc8, MODULE_ID_8);
  });

  it('--trust-root twice (repeatable) still verifies', async () => {
    const r = await run(['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--trust-root', ROOT_PEM_PATH, '--trust-root', ROOT_PEM_PATH, '--json']);
    assert.equal(r.status, 0, describeRun(r));
  });

  it('a readable file that is not a document is rejected (exit 1), not a usage error: garbage → MALFORMED_CBOR', async () => {
    const garbage = join(scratch, 'garbage.cbor');
    writeFileSync(garbage, 'this is not CBOR at all\n');
    assertRejected(await run(['verify-doc', garbage, '--at', DOC8_AT, '--json']), 'MALFORMED_CBOR');
  });

  it('an empty file is rejected (exit 1) as MALFORMED_CBOR', async () => {
    const empty = join(scratch, 'empty.cbor');
    writeFileSync(empty, '');
    assertRejected(await run(['verify-doc', empty, '--json']), 'MALFORMED_CBOR');
  });

  it('the real document with one signature byte changed (negative/neg_2) → exit 1, SIGNATURE_INVALID', async () => {
    const neg2 = join(NITRO_DIR, 'negative', 'neg_2_veracruz_bad_sig.cbor');
    const real9 = byName('real_9');
    assertRejected(await run(['verify-doc', neg2, '--at', String(real9.timestampMs), '--json']), 'SIGNATURE_INVALID');
  });

  it('every real document verifies at its own timestamp (unix ms)', async () => {
    const results = await Promise.all(docs.map(async (doc) => ({ doc, then: await run(['verify-doc', docPath(doc), '--at', String(doc.timestampMs), '--json']) })));
    for (const { doc, then } of results) {
      assert.equal(then.status, 0, `${doc.name}: ${describeRun(then)}`);
      const report = parseJsonLine(then);
      assertVerifiedShape(report);
      assert.equal(report.timestamp, doc.timestampMs, doc.name);
      assert.equal((report.chain as { sha256: string }[])[0]!.sha256, AWS_ROOT_SHA256, doc.name);
      assert.equal((report.chain as unknown[]).length, 5, doc.name);
    }
  });
});

describe('verify-doc human output', { concurrency: true }, () => {
  it('of a verified document: VERIFIED, the module id and a PCR0 table line', async () => {
    const r = await run(['verify-doc', DOC8_PATH, '--at', DOC8_AT]);
    assert.equal(r.status, 0, describeRun(r));
    assert.match(r.stdout, /^VERIFIED\b/);
    assert.ok(r.stdout.includes(MODULE_ID_8), 'names the module');
    assert.match(r.stdout, new RegExp(`^\\s+0\\s+${doc8.pcrs[0]}\\s+-$`, 'm'), 'a PCR0 line, not checked by a policy');
    assert.doesNotMatch(r.stdout, /^\{/, 'not JSON');
  });

  it('marks a PCR the policy checked as a match', async () => {
    const r = await run(['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--pcr', `0=${doc8.pcrs[0]}`]);
    assert.equal(r.status, 0, describeRun(r));
    assert.match(r.stdout, new RegExp(`^\\s+0\\s+${doc8.pcrs[0]}\\s+match$`, 'm'));
  });

  it('of a rejected document: REJECTED and the code, exit 1', async () => {
    const r = await run(['verify-doc', DOC8_PATH]);
    assert.equal(r.status, 1, describeRun(r));
    assert.match(r.stdout, /REJECTED/);
    assert.match(r.stdout, /\bCERT_EXPIRED\b/);
    assert.doesNotMatch(r.stdout, /VERIFIED/);
  });

  it('of a PCR mismatch: REJECTED and PCR_MISMATCH', async () => {
    const r = await run(['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--pcr', `0=${'00'.repeat(48)}`]);
    assert.equal(r.status, 1, describeRun(r));
    assert.match(r.stdout, /REJECTED.*\bPCR_MISMATCH\b/);
  });
});

describe('verify-doc usage errors: exit 2, nothing on stdout, a message on stderr', { concurrency: true }, () => {
  const notPem = join(scratch, 'not-a-cert.pem');
  writeFileSync(notPem, 'this is not a PEM certificate\n');
  const badPemBody = join(scratch, 'bad-body.pem');
  writeFileSync(badPemBody, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');

  const cases: [name: string, args: string[], stderr?: RegExp][] = [
    ['missing file argument', ['verify-doc', '--json']],
    ['two files', ['verify-doc', DOC8_PATH, DOC8_PATH, '--json']],
    ['unreadable file (does not exist)', ['verify-doc', join(scratch, 'no-such-file.cbor'), '--at', DOC8_AT, '--json'], /no-such-file\.cbor/],
    ['unreadable file (a directory)', ['verify-doc', scratch, '--at', DOC8_AT, '--json']],
    ['unknown flag', ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--frobnicate', '--json'], /frobnicate/],
    ['flag missing its value', ['verify-doc', DOC8_PATH, '--json', '--at']],
    ["--pcr without '='", ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--pcr', '0', '--json'], /--pcr/],
    ['--pcr with a non-hex value', ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--pcr', `0=${'zz'.repeat(48)}`, '--json'], /PCR0/],
    ['--pcr with an odd-length hex value', ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--pcr', '0=abc', '--json']],
    ['--pcr with a value of a length no PCR has', ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--pcr', '0=abcd', '--json']],
    ['--pcr with a non-canonical index (00 aliases 0)', ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--pcr', `00=${'00'.repeat(48)}`, '--json'], /PCR index "00" .*canonical form/],
    ['--pcr naming the same PCR twice', ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--pcr', `0=${'00'.repeat(48)}`, '--pcr', `0=${'11'.repeat(48)}`, '--json'], /--pcr names PCR0 twice/],
    ['--pcr with an index above 31', ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--pcr', `32=${'00'.repeat(48)}`, '--json']],
    ['--nonce that is not hex', ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--nonce', 'xyz', '--json'], /nonce/],
    ['--at garbage', ['verify-doc', DOC8_PATH, '--at', 'not-a-time', '--json'], /--at/],
    ['--max-age that is not a number', ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--max-age', 'soon', '--json'], /--max-age/],
    ['--max-age negative', ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--max-age', '-5', '--json']],
    ['--trust-root pointing to a non-PEM file', ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--trust-root', notPem, '--json'], /not-a-cert\.pem/],
    ['--trust-root pointing to a PEM block that is not a certificate', ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--trust-root', badPemBody, '--json']],
    ['--trust-root pointing to a missing file', ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--trust-root', join(scratch, 'missing.pem'), '--json'], /missing\.pem/],
    ['unknown command', ['verify-docs', DOC8_PATH, '--json'], /unknown command/],
    ['no command', []],
  ];
  for (const [name, args, stderr] of cases) {
    it(name, async () => assertUsageError(await run(args), stderr));
  }

  it('--pcr with a non-hex value is a usage error (the InputError becomes exit 2), also without --json', async () => {
    const r = await run(['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--pcr', '0=not-hex']);
    assertUsageError(r, /not an even-length hex string/);
    assert.match(r.stderr, /usage: blindbox verify-doc/);
  });

  it('a usage error is reported before the document is looked at (an expired document with a bad flag is still exit 2)', async () => {
    assertUsageError(await run(['verify-doc', DOC8_PATH, '--pcr', 'x=1', '--json']));
  });

  it('--help prints the usage on stdout and exits 0', async () => {
    const r = await run(['verify-doc', '--help']);
    assert.equal(r.status, 0, describeRun(r));
    assert.match(r.stdout, /^usage: blindbox verify-doc <file> \[options\]/);
  });
});

describe('the package bin (bin/blindbox.cjs) is the same CLI', { concurrency: true }, () => {
  it('prints the same JSON as out/src/cli/main.js for a verified document', async () => {
    const args = ['verify-doc', DOC8_PATH, '--at', DOC8_AT, '--json'];
    const [viaMain, viaBin] = await Promise.all([run(args, MAIN_JS), run(args, BIN_JS)]);
    assert.equal(viaBin.status, 0, describeRun(viaBin));
    assert.equal(viaBin.stdout, viaMain.stdout);
    assertMatchesNote(parseJsonLine(viaBin), doc8, MODULE_ID_8);
  });

  it('prints the same rejection and exit code 1', async () => {
    const args = ['verify-doc', DOC8_PATH, '--json'];
    const [viaMain, viaBin] = await Promise.all([run(args, MAIN_JS), run(args, BIN_JS)]);
    assertRejected(viaBin, 'CERT_EXPIRED');
    assert.equal(viaBin.stdout.replace(/verification time [^ ]+/, ''), viaMain.stdout.replace(/verification time [^ ]+/, ''));
  });

  it('exits 2 on a usage error', async () => {
    assertUsageError(await run(['verify-doc', '--at', 'never'], BIN_JS));
  });

  // serve and demo run from tsc's output beside the bundle, with their own copy of UsageError.
  for (const args of [['serve', '--port', 'x'], ['demo', '--bogus']]) {
    it(`exits 2 on a usage error of ${args[0]!}, which runs unbundled`, async () => {
      const [viaMain, viaBin] = await Promise.all([run(args, MAIN_JS), run(args, BIN_JS)]);
      assert.equal(viaBin.status, 2, describeRun(viaBin));
      assert.equal(viaBin.stderr, viaMain.stderr);
    });
  }

  it('prints the package version', async () => {
    const [viaMain, viaBin] = await Promise.all([run(['--version'], MAIN_JS), run(['--version'], BIN_JS)]);
    assert.equal(viaBin.status, 0, describeRun(viaBin));
    assert.match(viaBin.stdout, /^blindbox \d+\.\d+\.\d+/);
    assert.equal(viaBin.stdout, viaMain.stdout);
  });
});
