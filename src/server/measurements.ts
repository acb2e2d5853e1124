/**
 * The measurements (PCRs) the reference server reports, modelled on Nitro's:
 *   PCR0  SHA-384 of the server's own code, like the enclave image hash: every compiled module of the server
 *         package and every module of the protocol and the shared code (src/shared) it imports (transitively), by path
 *         and content. Change the server's code and PCR0 changes; change only the client (core, extension, CLI) and
 *         it does not;
 *   PCR1  SHA-384 of the runtime (the Node.js binary and its version), like
 *         Nitro's kernel and boot ramdisk;
 *   PCR2  SHA-384 of the service configuration (engine, model), like the
 *         user application measurement.
 * PCR3, PCR4 and PCR8 (IAM role, instance id, signing certificate) are all
 * zero, and the others up to 15 are zero as on a real NSM.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const PCR_COUNT = 16;

/** The directory holding the compiled `server/`, `protocol/` and `shared/` modules (out/src/). */
export const CODE_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The server package's directory under a code root. */
const SERVER_DIR = 'server';

/**
 * The modules PCR0 covers, as `/`-separated paths relative to `root`, in path order: every `.js` module of the
 * server package (its worker threads included), and every module outside it that one of these imports, transitively.
 */
export async function measuredModules(root: string = CODE_ROOT): Promise<string[]> {
  const seen = new Set(await listJs(path.join(root, SERVER_DIR)));
  const pending = [...seen];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    for (const imported of relativeImports(await readFile(file, 'utf8'), file)) {
      if (seen.has(imported)) continue;
      if (path.relative(root, imported).startsWith('..')) throw new Error(`${file} imports ${imported}, outside the measured code root ${root}`);
      seen.add(imported);
      pending.push(imported);
    }
  }
  return [...seen].map((f) => path.relative(root, f).split(path.sep).join('/')).sort();
}

/** SHA-384 over `measuredModules(root)`: each module's path and content, in path order. */
export async function measureCode(root: string = CODE_ROOT): Promise<Uint8Array> {
  const hash = createHash('sha384');
  for (const file of await measuredModules(root)) {
    hash.update(file).update('\0');
    hash.update(await readFile(path.join(root, file))).update('\0');
  }
  return new Uint8Array(hash.digest());
}

/**
 * The existing files named by the relative static and dynamic imports (and re-exports) of a compiled ES module. A
 * match in a comment or a string that names no file is passed over; bare specifiers (packages, node:) are not code
 * of this project.
 */
function relativeImports(source: string, file: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/\b(?:from|import)\s*\(?\s*(['"])(\.\.?\/[^'"]+)\1/g)) {
    const target = path.resolve(path.dirname(file), m[2]!);
    if (target.endsWith('.js') && existsSync(target)) found.push(target);
  }
  return found;
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
