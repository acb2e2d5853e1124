/**
 * Where the enclave image's Debian packages come from: the URL forms deploy/nitro/apt-snapshot.sh accepts and refuses
 * (the Docker recipe's APT_SNAPSHOT, build-rootfs.sh's APT_SNAPSHOT and DEBIAN_MIRROR), and build-rootfs.sh refusing
 * a bad one in one line before it builds or fetches anything. No network: snapshot.debian.org is never contacted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { runScript, type ScriptResult } from '../../support/scripts.js';

const DEPLOY = fileURLToPath(new URL('../../../deploy/nitro/', import.meta.url));
const SNAPSHOT = 'https://snapshot.debian.org/archive/debian/20251201T000000Z';
const NO_BUNDLE = { APT_CA_BUNDLE: '/nonexistent/ca-certificates.crt' };

const run = (script: string, args: string[], env: Record<string, string> = {}) => runScript(path.join(DEPLOY, script), args, env, 30_000);

const pick = ({ code, stdout, stderr }: ScriptResult) => ({ code, stdout, stderr });

/** Asserts a refusal: exit 2 and exactly one line on stderr matching `line`. */
function refused(r: ScriptResult, line: RegExp): void {
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, line);
}

describe('apt sources of the enclave image', () => {
  it('accepts dated snapshots over http, and over https where a CA bundle is there to verify them', async () => {
    for (const url of [SNAPSHOT, `${SNAPSHOT}/`, 'http://snapshot.debian.org/archive/debian/20251201T000000Z', 'http://127.0.0.1:3142/archive/debian/20251201T000000Z']) {
      assert.deepEqual(pick(await run('apt-snapshot.sh', ['--check', url])), { code: 0, stdout: '', stderr: '' }, url);
    }
    for (const url of ['http://deb.debian.org/debian', 'https://deb.debian.org/debian', 'http://127.0.0.1:3142/debian/']) {
      assert.deepEqual(pick(await run('apt-snapshot.sh', ['--check-mirror', url])), { code: 0, stdout: '', stderr: '' }, url);
    }
  });

  it('refuses https when apt has no CA bundle (a host without ca-certificates), naming the fix', async () => {
    refused(await run('apt-snapshot.sh', ['--check', SNAPSHOT], NO_BUNDLE), /^apt-snapshot: APT_SNAPSHOT https:\/\/snapshot\.debian\.org\/\S+ is https, and apt here has no CA bundle to verify it with \(\/nonexistent\/ca-certificates\.crt\): install ca-certificates, or use http:\/\//);
    refused(await run('apt-snapshot.sh', ['--check-mirror', 'https://deb.debian.org/debian'], NO_BUNDLE), /^apt-snapshot: DEBIAN_MIRROR https:\/\/deb\.debian\.org\/debian is https/);
    assert.equal((await run('apt-snapshot.sh', ['--check', SNAPSHOT.replace('https:', 'http:')], NO_BUNDLE)).code, 0, 'http needs no CA bundle');
  });

  it('refuses what is not a dated snapshot, or not an http(s) URL', async () => {
    const notSnapshots = ['https://snapshot.debian.org/archive/debian/latest', 'https://snapshot.debian.org/archive/debian/20251201', 'ftp://snapshot.debian.org/archive/debian/20251201T000000Z', 'snapshot.debian.org/archive/debian/20251201T000000Z', `${SNAPSHOT} bookworm main`, `${SNAPSHOT}\nhttp://evil.test/debian`];
    for (const url of notSnapshots) refused(await run('apt-snapshot.sh', ['--check', url]), /^apt-snapshot: APT_SNAPSHOT must be a dated snapshot of the Debian archive/);
    for (const url of ['ftp://deb.debian.org/debian', 'file:///srv/debian', 'deb.debian.org/debian', 'http://deb.debian.org/debian trixie main', '']) {
      refused(await run('apt-snapshot.sh', ['--check-mirror', url]), /^apt-snapshot: DEBIAN_MIRROR must be an http:\/\/ or https:\/\/ URL of a Debian archive/);
    }
  });

  it('build-rootfs.sh refuses a bad source in one line, before it builds or fetches anything', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'blindbox-apt-'));
    try {
      refused(await run('build-rootfs.sh', [out], { APT_SNAPSHOT: SNAPSHOT, ...NO_BUNDLE }), /^apt-snapshot: APT_SNAPSHOT \S+ is https, and apt here has no CA bundle/);
      refused(await run('build-rootfs.sh', [out], { APT_SNAPSHOT: 'http://snapshot.debian.org/archive/debian/yesterday' }), /^apt-snapshot: APT_SNAPSHOT must be a dated snapshot/);
      refused(await run('build-rootfs.sh', [out], { DEBIAN_MIRROR: 'ftp://deb.debian.org/debian' }), /^apt-snapshot: DEBIAN_MIRROR must be an http/);
      assert.deepEqual(await readdir(out), [], 'nothing written');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
