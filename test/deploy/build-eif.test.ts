/**
 * deploy/nitro/build.sh, the EIF from the reproducible root filesystem, on a stand-in host: `docker` and `nitro-cli`
 * are fake executables on PATH that record their arguments and answer as the real ones do (`docker import` prints
 * the new image's ID and keeps the tar's SHA-256 as the image's one layer, which `docker image inspect` reports;
 * `nitro-cli build-enclave` truncates its output file first, writes the EIF and prints its Measurements JSON), and
 * nitro-cli's blobs are a fake directory. The rootfs is a small tar with the inputs.txt and pcr16 build-rootfs.sh
 * writes beside it (test/deploy/rootfs.test.ts builds the real one), so nothing here needs root, Docker or mmdebstrap.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { runScript, writeFakeTools, type ScriptResult } from '../../support/scripts.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILD = path.join(ROOT, 'deploy', 'nitro', 'build.sh');
const IMAGE_ID = `sha256:${'5e'.repeat(32)}`;
const hex48 = () => randomBytes(48).toString('hex');

/** docker: `import … TAR REF` keeps the tar's SHA-256 (its diff ID) for `image inspect`, and prints the image ID. */
const DOCKER = `state=$(dirname "$FAKE_LOG")/docker-layer
case "$1" in
  import)
    tar=\${*: -2:1}
    [ -f "$tar" ] || { echo "open $tar: no such file or directory" >&2; exit 1; }
    sha256sum "$tar" | cut -d' ' -f1 >"$state"
    echo "$FAKE_IMAGE_ID" ;;
  image) printf '["sha256:%s"]\\n' "\${FAKE_LAYER:-$(cat "$state")}" ;;
  *) exit 1 ;;
esac`;

/** nitro-cli: like the real one, build-enclave opens (truncates) --output-file before anything can fail. */
const NITRO_CLI = `case "$1" in
  --version) echo "Nitro CLI 1.4.2" ;;
  build-enclave)
    while [ $# -gt 0 ]; do [ "$1" = --output-file ] && out=$2; shift; done
    : >"$out"
    echo "Start building the Enclave Image..." >&2
    if [ -n "\${FAKE_NITRO_FAIL:-}" ]; then echo "[ E48 ] EIF building error. Failed to build EIF from docker." >&2; exit 1; fi
    echo "Using the locally available Docker image..." >&2
    echo "an EIF" >"$out"
    echo "Enclave Image successfully created." >&2
    printf '%s\\n' "$FAKE_MEASUREMENTS" ;;
esac`;

let dir: string;
let rootfs: string;
let blobs: string;
let tarSha: string;
const PCR16 = hex48();
const ROOTFS_INPUTS = ['commit 0123abcd', 'package-lock.json sha256 abcd', 'nitro-cli absent on this host: its version and blobs (kernel, init, linuxkit: inputs of PCR0/1) not recorded'];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-build-'));
  await writeFakeTools(path.join(dir, 'bin'), { docker: DOCKER, 'nitro-cli': NITRO_CLI });
  blobs = path.join(dir, 'blobs');
  await mkdir(blobs);
  for (const blob of ['bzImage', 'bzImage.config', 'Image', 'Image.config', 'init', 'nsm.ko', 'linuxkit', 'cmdline']) await writeFile(path.join(blobs, blob), `fake ${blob}`);
  // A rootfs as build-rootfs.sh leaves it: the tar, its inputs (naming the tar's SHA-256 and PCR16), pcr16.
  rootfs = path.join(dir, 'rootfs');
  await mkdir(path.join(dir, 'tree', 'app', 'deploy', 'nitro'), { recursive: true });
  await writeFile(path.join(dir, 'tree', 'app', 'deploy', 'nitro', 'enclave-entry.sh'), '#!/bin/bash\n');
  await mkdir(rootfs);
  await promisify(execFile)('tar', ['-C', path.join(dir, 'tree'), '-cf', path.join(rootfs, 'rootfs.tar'), '.']);
  tarSha = createHash('sha256').update(await readFile(path.join(rootfs, 'rootfs.tar'))).digest('hex');
  await writeFile(path.join(rootfs, 'inputs.txt'), [...ROOTFS_INPUTS, `rootfs.tar sha256 ${tarSha}`, `PCR16 ${PCR16}`, ''].join('\n'));
  await writeFile(path.join(rootfs, 'pcr16'), `${PCR16}\n`);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** nitro-cli build-enclave's stdout for these PCRs, as the real one prints it (serde_json's pretty form). */
const measurements = (pcrs: Record<string, string>) => JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384 { ... }', ...pcrs } }, null, 2);

/** Runs build.sh with the fakes into a fresh output directory; resolves with its result and the fakes' calls. */
async function build(args: string[], env: Record<string, string> = {}, out?: string): Promise<ScriptResult & { calls: string[]; out: string }> {
  out ??= await mkdtemp(path.join(dir, 'out-'));
  const log = path.join(await mkdtemp(path.join(dir, 'log-')), 'calls.log');
  await writeFile(log, '');
  const r = await runScript(BUILD, ['--out', out, ...args], {
    PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`,
    FAKE_LOG: log,
    FAKE_IMAGE_ID: IMAGE_ID,
    NITRO_CLI_BLOBS: blobs,
    ...env,
  });
  return { ...r, calls: (await readFile(log, 'utf8')).split('\n').filter(Boolean), out };
}

const TAG = () => `blindbox-enclave:sha256-${tarSha}`;

describe('deploy/nitro/build.sh', () => {
  it("imports rootfs.tar with the entry command, builds the EIF from that image, prints nitro-cli's PCR0/1/2 and the rootfs's PCR16, and records every input beside the EIF", async () => {
    const pcrs = { PCR0: hex48(), PCR1: hex48(), PCR2: hex48() };
    const r = await build(['--rootfs', rootfs], { FAKE_MEASUREMENTS: measurements(pcrs) });
    assert.equal(r.code, 0, r.stderr);
    const tar = path.join(rootfs, 'rootfs.tar');
    assert.deepEqual(r.calls.filter((c) => c.startsWith('docker ')), [
      `docker import --change CMD ["/app/deploy/nitro/enclave-entry.sh"] --change ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin ${tar} ${TAG()}`,
      `docker image inspect --format {{json .RootFS.Layers}} ${TAG()}`,
    ]);
    const builds = r.calls.filter((c) => c.startsWith('nitro-cli build-enclave'));
    assert.equal(builds.length, 1, r.calls.join('\n'));
    assert.match(builds[0]!, new RegExp(`^nitro-cli build-enclave --docker-uri ${TAG()} --output-file ${r.out}/\\.build\\.\\w+/blindbox\\.eif$`));
    assert.deepEqual(r.stdout.trimEnd().split('\n'), [
      `PCR0  ${pcrs.PCR0}`,
      `PCR1  ${pcrs.PCR1}`,
      `PCR2  ${pcrs.PCR2}`,
      `PCR16 ${PCR16}`,
      `build.sh: wrote ${r.out}/blindbox.eif, its inputs ${r.out}/inputs.txt and the client policy ${r.out}/policy.json`,
    ]);
    assert.deepEqual((await readdir(r.out)).sort(), ['blindbox.eif', 'inputs.txt', 'policy.json'], 'the EIF, its inputs and policy, nothing half-made');
    assert.equal(await readFile(path.join(r.out, 'blindbox.eif'), 'utf8'), 'an EIF\n');
    const blob = (name: string) => `nitro-cli blob ${name} sha256 ${createHash('sha256').update(`fake ${name}`).digest('hex')}`;
    const kernel = process.arch === 'arm64' ? 'Image' : 'bzImage';
    assert.deepEqual((await readFile(path.join(r.out, 'inputs.txt'), 'utf8')).trimEnd().split('\n'), [
      `# the root filesystem (${rootfs}/inputs.txt, written by build-rootfs.sh)`,
      ...ROOTFS_INPUTS.filter((l) => !l.startsWith('nitro-cli ')),
      `rootfs.tar sha256 ${tarSha}`,
      '# the EIF (build.sh)',
      'nitro-cli version Nitro CLI 1.4.2',
      `nitro-cli blobs ${blobs}`,
      ...[kernel, `${kernel}.config`, 'init', 'nsm.ko', 'linuxkit', 'cmdline'].map(blob),
      `docker image ${TAG()} id ${IMAGE_ID} (the ID changes with every import; its one layer is rootfs.tar, sha256:${tarSha})`,
      'image config Cmd ["/app/deploy/nitro/enclave-entry.sh"] Env PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      `PCR0 ${pcrs.PCR0}`,
      `PCR1 ${pcrs.PCR1}`,
      `PCR2 ${pcrs.PCR2}`,
      `PCR16 ${PCR16}`,
    ]);
    assert.deepEqual(JSON.parse(await readFile(path.join(r.out, 'policy.json'), 'utf8')), {
      name: 'production',
      pcrs: { 0: pcrs.PCR0, 1: pcrs.PCR1, 2: pcrs.PCR2, 16: PCR16 },
      maxAgeSeconds: 600,
    });
  });

  it("stops with nitro-cli's failure in one line, and leaves no EIF, inputs or policy (not even a previous build's)", async () => {
    const pcrs = { PCR0: hex48(), PCR1: hex48(), PCR2: hex48() };
    const first = await build(['--rootfs', rootfs], { FAKE_MEASUREMENTS: measurements(pcrs) });
    assert.equal(first.code, 0, first.stderr);
    const r = await build(['--rootfs', rootfs], { FAKE_NITRO_FAIL: '1' }, first.out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\[ E48 \] EIF building error/);
    assert.match(r.stderr.trimEnd().split('\n').at(-1)!, /^build\.sh: nitro-cli build-enclave failed \(exit 1, its reason above\): no EIF built$/);
    assert.equal(r.stdout, '');
    assert.deepEqual(await readdir(r.out), []);
  });

  it('refuses nitro-cli output without a PCR, leaving nothing', async () => {
    const r = await build(['--rootfs', rootfs], { FAKE_MEASUREMENTS: measurements({ PCR0: hex48(), PCR1: hex48() }) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^build\.sh: nitro-cli build-enclave printed no PCR2 \(its output: \{/m);
    assert.deepEqual(await readdir(r.out), []);
  });

  it("refuses an imported image whose layer is not rootfs.tar, before nitro-cli runs", async () => {
    const r = await build(['--rootfs', rootfs], { FAKE_LAYER: 'f'.repeat(64) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^build\\.sh: the imported image ${TAG()} is not rootfs\\.tar as its one layer \\(layers: \\["sha256:f{64}"\\]\\)$`, 'm'));
    assert.deepEqual(r.calls.filter((c) => c.startsWith('nitro-cli build-enclave')), []);
    assert.deepEqual(await readdir(r.out), []);
  });

  it('refuses a rootfs whose inputs.txt names another tar, before Docker runs', async () => {
    const other = path.join(dir, 'other-rootfs');
    await mkdir(other);
    await writeFile(path.join(other, 'rootfs.tar'), 'not the tar the inputs name');
    await writeFile(path.join(other, 'inputs.txt'), await readFile(path.join(rootfs, 'inputs.txt')));
    await writeFile(path.join(other, 'pcr16'), `${PCR16}\n`);
    const r = await build(['--rootfs', other]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^build\.sh: \S+\/other-rootfs\/inputs\.txt does not describe this rootfs\.tar \(sha256 [0-9a-f]{64}\) and its PCR16: rebuild with build-rootfs\.sh$/m);
    assert.deepEqual(r.calls, []);
    assert.deepEqual(await readdir(r.out), []);
  });

  it('stops when build-rootfs.sh fails, in one line after its reason, and runs neither Docker nor nitro-cli', async () => {
    const r = await build([], { APT_SNAPSHOT: 'http://snapshot.debian.org/archive/debian/yesterday', DEBIAN_MIRROR: '' });
    assert.equal(r.code, 1);
    assert.deepEqual(r.stderr.trimEnd().split('\n'), [
      "apt-snapshot: APT_SNAPSHOT must be a dated snapshot of the Debian archive, http(s)://<host>/archive/debian/<YYYYMMDDTHHMMSSZ> (got: 'http://snapshot.debian.org/archive/debian/yesterday')",
      'build.sh: build-rootfs.sh failed (exit 2, its reason above): no EIF built',
    ]);
    assert.deepEqual(r.calls, []);
    assert.deepEqual(await readdir(r.out), []);
  });

  it('takes --whisper-model only when it builds the rootfs', async () => {
    const r = await build(['--rootfs', rootfs, '--whisper-model', path.join(dir, 'model.bin')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^build\.sh: --whisper-model goes to the rootfs build/);
    assert.deepEqual(r.calls, []);
  });
});
