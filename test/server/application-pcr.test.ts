/** PCR16's measurement: every byte of every model file and the configuration count, nothing else does. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applicationPcrValue, engineModelPaths, measureApplication } from '../../src/server/application-pcr.js';
import { DEFAULT_MODEL_DIR } from '../../src/server/engine/pocketsphinx/addon.js';

let dir: string;
const config = { engine: 'pocketsphinx', model: 'm', version: '1' };
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-pcr16-'));
  await mkdir(path.join(dir, 'model', 'sub'), { recursive: true });
  await writeFile(path.join(dir, 'model', 'a.bin'), 'acoustic');
  await writeFile(path.join(dir, 'model', 'sub', 'b.dict'), 'dictionary');
});
after(() => rm(dir, { recursive: true, force: true }));

describe('the application PCR', () => {
  it('changes with a model file\'s byte, a file\'s name, the engine, the model name or the version', async () => {
    const model = path.join(dir, 'model');
    const base = hex(await measureApplication({ ...config, modelPaths: [model] }));
    assert.equal(hex(await measureApplication({ ...config, modelPaths: [model] })), base, 'deterministic');
    const variants = [
      await measureApplication({ ...config, engine: 'whisper-http', modelPaths: [model] }),
      await measureApplication({ ...config, model: 'n', modelPaths: [model] }),
      await measureApplication({ ...config, version: '2', modelPaths: [model] }),
      await measureApplication({ ...config, modelPaths: [] }),
    ];
    await writeFile(path.join(model, 'sub', 'b.dict'), 'dictionarY');
    variants.push(await measureApplication({ ...config, modelPaths: [model] }));
    await writeFile(path.join(model, 'sub', 'b.dict'), 'dictionary');
    await rm(path.join(model, 'sub', 'b.dict'));
    await writeFile(path.join(model, 'sub', 'c.dict'), 'dictionary');
    variants.push(await measureApplication({ ...config, modelPaths: [model] }));
    assert.equal(new Set([base, ...variants.map(hex)]).size, 7);
  });

  it('is one NSM extension of a fresh PCR: SHA-384(48 zero bytes ‖ measurement)', () => {
    const m = new Uint8Array(48).fill(5);
    assert.equal(hex(applicationPcrValue(m)), createHash('sha384').update(Buffer.alloc(48)).update(m).digest('hex'));
  });

  it('measures PocketSphinx\'s model directory, and the Whisper model file only when the server is told it', () => {
    assert.deepEqual(engineModelPaths('pocketsphinx'), [DEFAULT_MODEL_DIR]);
    assert.deepEqual(engineModelPaths('whisper-http', '/models/ggml-base.en.bin'), ['/models/ggml-base.en.bin']);
    assert.deepEqual(engineModelPaths('whisper-http'), []);
    assert.deepEqual(engineModelPaths('none'), []);
  });
});
