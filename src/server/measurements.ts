/**
 * The measurements (PCRs) the reference server reports, modelled on Nitro's:
 *   PCR0  SHA-384 of the server's own code (every compiled module of
 *         src/core and src/enclave, by path and content), like the enclave
 *         image hash: change the code and PCR0 changes;
 *   PCR1  SHA-384 of the runtime (the Node.js binary and its version), like
 *         Nitro's kernel and boot ramdisk;
 *   PCR2  SHA-384 of the service configuration (engine, model), like the
 *         user application measurement.
 * PCR3, PCR4 and PCR8 (IAM role, instance id, signing certificate) are all
 * zero, and the others up to 15 are zero as on a real NSM.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const PCR_COUNT = 16;

/** The directory holding the compiled `core/` and `enclave/` modules. */
export const CODE_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** SHA-384 over every `.js` module under `core/` and `enclave/` of `root`, in path order. */
export async function measureCode(root: string = CODE_ROOT): Promise<Uint8Array> {
  const files: string[] = [];
  for (const dir of ['core', 'enclave']) files.push(...(await listJs(path.join(root, dir))));
  files.sort();
  const hash = createHash('sha384');
  for (const file of files) {
    hash.update(path.relative(root, file).split(path.sep).join('/')).update('\0');
    hash.update(await readFile(file)).update('\0');
  }
  return new Uint8Array(hash.digest());
}

let runtimeMeasurement: Promise<Uint8Array> | undefined;

/** SHA-384 of the Node.js binary that runs the server, and its version (read once per process: the binary cannot change under it). */
export function measureRuntime(): Promise<Uint8Array> {
  runtimeMeasurement ??= (async () => {
    const hash = createHash('sha384').update(`${process.release.name} ${process.version} ${process.arch}\0`);
    for await (const chunk of createReadStream(process.execPath)) hash.update(chunk as Buffer);
    return new Uint8Array(hash.digest());
  })();
  return runtimeMeasurement;
}

/** SHA-384 of the service configuration as canonical JSON. */
export function measureConfiguration(config: Readonly<Record<string, string | number | boolean | null>>): Uint8Array {
  const canonical = JSON.stringify(Object.fromEntries(Object.entries(config).sort(([a], [b]) => a.localeCompare(b))));
  return new Uint8Array(createHash('sha384').update(canonical).digest());
}

/** All sixteen PCRs of the reference server. */
export async function measurePcrs(config: Readonly<Record<string, string | number | boolean | null>>, codeRoot?: string): Promise<Map<number, Uint8Array>> {
  const pcrs = new Map<number, Uint8Array>();
  for (let i = 0; i < PCR_COUNT; i++) pcrs.set(i, new Uint8Array(48));
  pcrs.set(0, await measureCode(codeRoot));
  pcrs.set(1, await measureRuntime());
  pcrs.set(2, measureConfiguration(config));
  return pcrs;
}

async function listJs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.js')).map((e) => path.join(e.parentPath ?? e.path, e.name));
}
