/**
 * The enclave's root filesystem, built and run for real: deploy/nitro/build-rootfs.sh (mmdebstrap from the Debian
 * mirror, the lockfile's packages, the server compiled afresh) once, then deploy/nitro/try-rootfs.sh on it (the real
 * entry path in private namespaces, the NSM stand-in, a UNIX socket for VSOCK, the sample transcribed through
 * host-proxy.sh with PCR16 pinned), and on a copy missing one shared library, which must fail with its clear line.
 * Needs root (mmdebstrap's root mode, chroot, namespaces) and the mirror: skipped, saying so, when not root.
 * A stray compiled file planted in out/ during the build must not reach the image.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { runScript, type ScriptResult } from '../../support/scripts.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEPLOY = path.join(ROOT, 'deploy', 'nitro');
const STRAY = path.join(ROOT, 'out', 'src', 'server', 'stray-of-a-deleted-source.js');
const NOT_ROOT = process.getuid?.() === 0 ? false : 'needs root (mmdebstrap --mode=root, chroot, namespaces): run npm test as root to build and try the rootfs';

/** Runs a deploy/nitro script, bounded by `minutes`. */
const script = (name: string, args: string[], minutes: number) => runScript(path.join(DEPLOY, name), args, {}, minutes * 60_000);

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const tar = async (...args: string[]) => (await promisify(execFile)('tar', args, { maxBuffer: 64 * 1024 * 1024 })).stdout;

describe('the enclave root filesystem', () => {
  let out = '';
  let build: ScriptResult;
  let members: string[];

  before(async () => {
    if (NOT_ROOT) return;
    out = await mkdtemp(path.join(tmpdir(), 'blindbox-rootfs-test-'));
    await mkdir(path.dirname(STRAY), { recursive: true });
    await writeFile(STRAY, 'export const stray = true;\n');
    try {
      build = await script('build-rootfs.sh', [out], 20);
    } finally {
      await rm(STRAY, { force: true });
    }
    console.log(`build-rootfs.sh: ${build.seconds} s`);
    members = build.code === 0 ? (await tar('-tf', path.join(out, 'rootfs.tar'))).split('\n') : [];
  });
  after(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('build-rootfs.sh writes rootfs.tar, prints its SHA-256 and PCR16, records its inputs, and takes no stray file of out/', { skip: NOT_ROOT, timeout: 10 * 60_000 }, async () => {
    assert.equal(build.code, 0, build.stderr);
    const tarFile = path.join(out, 'rootfs.tar');
    const pcr16 = (await readFile(path.join(out, 'pcr16'), 'utf8')).trim();
    assert.match(pcr16, /^[0-9a-f]{96}$/);
    assert.deepEqual(build.stdout.trimEnd().split('\n'), [`sha256 ${await sha256(tarFile)}`, `PCR16 ${pcr16}`]);
    const inputs = await readFile(path.join(out, 'inputs.txt'), 'utf8');
    for (const line of [/^debian http\S+ trixie \(InRelease sha256 [0-9a-f]{64}, Date: /m, /^package-lock\.json sha256 [0-9a-f]{64}$/m, /^nitro-cli (absent on this host|version )/m, new RegExp(`^PCR16 ${pcr16}$`, 'm')]) {
      assert.match(inputs, line);
    }
    assert.ok(members.includes('./app/out/src/server/app.js') && members.includes('./app/out/src/cli/main.js'), 'the server is in');
    assert.deepEqual(members.filter((m) => m.includes('stray-of-a-deleted-source')), [], 'the stray file in out/ stayed out');
    assert.deepEqual(members.filter((m) => /^\.\/app\/out\/.*\.map$/.test(m)), [], 'no source maps');
    assert.deepEqual(members.filter((m) => /^\.\/usr\/bin\/(dpkg|apt|apt-get|npm|gcc|cc)$/.test(m)), [], 'no package manager or compiler');
  });

  it('try-rootfs.sh runs the entry path in it and transcribes the sample through the host proxy, PCR16 pinned', { skip: NOT_ROOT, timeout: 10 * 60_000 }, async () => {
    assert.equal(build.code, 0, 'the build failed');
    const r = await script('try-rootfs.sh', [path.join(out, 'rootfs.tar')], 5);
    console.log(`try-rootfs.sh: ${r.seconds} s`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /try-rootfs: all \d+ ELF files resolve their libraries inside the rootfs/);
    assert.match(r.stderr, /try-rootfs: transcript: the quick brown fox/);
    assert.match(r.stderr, /try-rootfs: OK: the rootfs's serve attested with PCR16 [0-9a-f]{96} and transcribed the sample/);
  });

  it('try-rootfs.sh fails with its clear line on a copy of the rootfs missing one shared library', { skip: NOT_ROOT, timeout: 10 * 60_000 }, async () => {
    assert.equal(build.code, 0, 'the build failed');
    const library = members.find((m) => /\/libsphinxbase\.so\.3$/.test(m));
    assert.ok(library, 'the rootfs holds libsphinxbase.so.3');
    const copy = path.join(out, 'broken', 'rootfs.tar');
    await mkdir(path.dirname(copy));
    await copyFile(path.join(out, 'rootfs.tar'), copy);
    await copyFile(path.join(out, 'pcr16'), path.join(out, 'broken', 'pcr16'));
    await tar('--delete', '-f', copy, library);
    const r = await script('try-rootfs.sh', [copy], 5);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /try-rootfs: FAILED: \d+ of \d+ ELF files do not resolve their libraries inside the rootfs/);
    assert.match(r.stderr, /pocketsphinx\.node: .*libsphinxbase\.so\.3/);
  });
});
