/**
 * What goes into the enclave image, and so into its measurement (PCR0 on Nitro): the modules the enclave's process can
 * load, and no client code. The process is the one deploy/nitro/enclave-entry.sh starts (`blindbox serve`); its
 * import graph is read from the compiled JS by esbuild's resolver (static and dynamic imports, re-exports), from the
 * CLI's entry (of whose command table only the command run) and every module of the server package (its worker
 * threads are loaded by URL, not by import). The client core and the extension must be unreachable, so a client
 * error sentence reworded cannot change the enclave's measurement, and build-rootfs.sh must copy no more than that
 * (rootfs.test.ts, as root, checks the built tar holds the server).
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEPLOY = path.join(ROOT, 'deploy', 'nitro');
const CLIENT_DIRS = ['core', 'extension'];

/** The compiled entry module and the command enclave-entry.sh runs, e.g. `out/src/cli/main.js`, `serve`. */
async function enclaveCommand(): Promise<{ entry: string; command: string }> {
  const script = await readFile(path.join(DEPLOY, 'enclave-entry.sh'), 'utf8');
  const runs = [...script.matchAll(/^node "\$APP\/(out\/src\/[^"]+\.js)" (\w[\w-]*)/gm)];
  assert.equal(runs.length, 1, 'enclave-entry.sh starts one Node.js process');
  return { entry: runs[0]![1]!, command: runs[0]![2]! };
}

/**
 * The project modules (paths relative to the repository) that `command` run through `entry` can load: everything
 * reachable from the entry, except the other commands of its command table (the module that imports `./<command>.js`
 * dynamically: its other dynamic imports), and from every module of the server package.
 */
async function enclaveModules(entry: string, command: string): Promise<string[]> {
  const serverDir = path.join(ROOT, 'out', 'src', 'server');
  const server = (await readdir(serverDir, { recursive: true, encoding: 'utf8' })).filter((f) => f.endsWith('.js')).map((f) => `out/src/server/${f.split(path.sep).join('/')}`);
  const { metafile } = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry, ...server],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outdir: 'unused',
    logLevel: 'silent',
  });
  const inputs: Metafile['inputs'] = metafile.inputs;
  const commandImport = (m: Metafile['inputs'][string]['imports'][number]) => m.kind === 'dynamic-import' && m.original !== `./${command}.js`;
  const dispatches = (file: string) => inputs[file]!.imports.some((m) => m.kind === 'dynamic-import' && m.original === `./${command}.js`);
  assert.ok(Object.keys(inputs).some(dispatches), `${entry} loads ./${command}.js`);
  const seen = new Set([entry, ...server]);
  const pending = [...seen];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    for (const imported of inputs[file]!.imports) {
      if (imported.external || seen.has(imported.path) || (dispatches(file) && commandImport(imported))) continue;
      seen.add(imported.path);
      pending.push(imported.path);
    }
  }
  return [...seen].sort();
}

/** The directories under out/src/ that build-rootfs.sh copies into the root filesystem from its fresh compile. */
async function copiedCodeDirs(): Promise<string[]> {
  const script = await readFile(path.join(DEPLOY, 'build-rootfs.sh'), 'utf8');
  const copies = [...script.matchAll(/^for dir in ([\w ]+); do cp -r "\$WORK\/compiled\/src\/\$dir" "\$APP\/out\/src\/"; done$/gm)];
  assert.equal(copies.length, 1, 'build-rootfs.sh copies the compiled code in one loop');
  return copies[0]![1]!.split(' ').sort();
}

const topDir = (file: string) => file.replace(/^out\/src\//, '').split('/')[0]!;

describe('the enclave image', () => {
  it('runs a process that can load no client-core or extension module', async () => {
    const { entry, command } = await enclaveCommand();
    assert.deepEqual([entry, command], ['out/src/cli/main.js', 'serve']);
    const modules = await enclaveModules(entry, command);
    assert.ok(modules.includes('out/src/cli/serve.js') && modules.includes('out/src/server/app.js'), 'the walk reaches the server');
    assert.ok(!modules.includes('out/src/cli/verify-doc.js'), "the CLI's client commands are not the enclave's");
    assert.deepEqual(modules.filter((f) => CLIENT_DIRS.includes(topDir(f))), []);
  });

  it('holds the code its process loads and no client code', async () => {
    const { entry, command } = await enclaveCommand();
    const needed = [...new Set((await enclaveModules(entry, command)).map(topDir))].sort();
    const copied = await copiedCodeDirs();
    assert.deepEqual(copied.filter((d) => CLIENT_DIRS.includes(d)), []);
    assert.deepEqual(needed.filter((d) => !copied.includes(d)), [], `copied ${copied.join(', ')}`);
  });
});
