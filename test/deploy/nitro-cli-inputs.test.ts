/**
 * deploy/nitro/nitro-cli-inputs.sh, the inputs.txt lines for what nitro-cli puts into an EIF besides the image: its
 * version and its blobs' SHA-256 (kernel, kernel config, init, nsm.ko, linuxkit, cmdline; PCR0/1 depend on them),
 * read where nitro-cli reads them (NITRO_CLI_BLOBS). A fake `nitro-cli` on PATH and a fake blobs directory; without
 * nitro-cli on PATH (this machine) the file says it is absent.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { arch, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';

const SCRIPT = fileURLToPath(new URL('../../../deploy/nitro/nitro-cli-inputs.sh', import.meta.url));
const KERNEL = arch() === 'arm64' ? 'Image' : 'bzImage';

let dir: string;
let blobs: string;
const contents: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-blobs-'));
  await mkdir(path.join(dir, 'bin'));
  await writeFile(path.join(dir, 'bin', 'nitro-cli'), '#!/bin/bash\n[ "$1" = --version ] && echo "Nitro CLI 1.5.0"\n');
  await chmod(path.join(dir, 'bin', 'nitro-cli'), 0o755);
  blobs = path.join(dir, 'blobs');
  await mkdir(blobs);
  for (const blob of [KERNEL, `${KERNEL}.config`, 'init', 'nsm.ko', 'linuxkit', 'cmdline']) {
    contents[blob] = `fake ${blob} ${Math.random()}`;
    await writeFile(path.join(blobs, blob), contents[blob]!);
  }
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the script with PATH = `path` (bash's own directories always in it). */
async function lines(pathDirs: string[], env: Record<string, string> = {}): Promise<string[]> {
  const { stdout } = await promisify(execFile)('/bin/bash', [SCRIPT], { env: { PATH: [...pathDirs, '/usr/bin', '/bin'].join(':'), ...env } });
  return stdout.trimEnd().split('\n');
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('nitro-cli-inputs.sh', () => {
  it("records nitro-cli's version and the SHA-256 of each blob where NITRO_CLI_BLOBS says nitro-cli reads them", async () => {
    assert.deepEqual(await lines([path.join(dir, 'bin')], { NITRO_CLI_BLOBS: blobs }), [
      'nitro-cli version Nitro CLI 1.5.0',
      `nitro-cli blobs ${blobs}`,
      ...[KERNEL, `${KERNEL}.config`, 'init', 'nsm.ko', 'linuxkit', 'cmdline'].map((b) => `nitro-cli blob ${b} sha256 ${sha256(contents[b]!)}`),
    ]);
  });

  it('names a missing blob, and says so when nitro-cli is absent', async () => {
    await rm(path.join(blobs, 'linuxkit'));
    assert.ok((await lines([path.join(dir, 'bin')], { NITRO_CLI_BLOBS: blobs })).includes(`nitro-cli blob linuxkit MISSING from ${blobs}`));
    assert.deepEqual(await lines([]), ['nitro-cli absent on this host: its version and blobs (kernel, init, linuxkit: inputs of PCR0/1) not recorded']);
  });
});
