/**
 * The server's wire codes, in the style of the client's (test/core/error-codes.test.ts): every code of
 * `SERVER_ERROR_CODES` answered by the server's `HttpError` with its status, its sentence and `Retry-After` exactly where
 * retrying helps; the client retrying exactly those statuses; and the README's protocol table listing exactly these codes,
 * each under its status.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { busyWaitMs } from '../../src/core/index.js';
import { RETRY_STATUSES, SERVER_ERROR_CODES, serverErrorSpec, type ServerErrorCode, type ServerErrorSpec } from '../../src/protocol/server-errors.js';
import { ENGINE_ERROR_CODES, EngineError } from '../../src/server/engine/engine.js';
import { rawErrorAnswer } from '../../src/server/http/client-error.js';
import { HttpError } from '../../src/server/http/respond.js';

const TABLE = Object.entries(SERVER_ERROR_CODES) as [ServerErrorCode, ServerErrorSpec][];

/** Any code answered through the widest signature (the union of codes accepts `retryAfterSeconds`). */
const answer = (code: ServerErrorCode, options?: { status?: number }) => HttpError.of(code as 'BUSY', undefined, { retryAfterSeconds: 7, ...(options as { status?: never }) });

describe('every server error code', () => {
  for (const [code, spec] of TABLE) {
    it(code, () => {
      assert.match(spec.sentence, /^\S[^\n]*\.$/, 'a default message is one sentence');
      const err = answer(code);
      assert.equal(err.code, code);
      assert.equal(err.status, spec.status);
      assert.equal(err.message, spec.sentence);
      assert.equal(err.headers['retry-after'], spec.retry ? '7' : undefined);
      if (spec.alsoStatus !== undefined) {
        const also = answer(code, { status: spec.alsoStatus });
        assert.equal(also.status, spec.alsoStatus);
        assert.equal(also.headers['retry-after'], undefined, 'its second status never retries');
      }
      const raw = rawErrorAnswer(code);
      assert.ok(raw.startsWith(`HTTP/1.1 ${spec.status} `), raw);
      assert.deepEqual(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)), { error: { code, message: spec.sentence } });
    });
  }

  it('are read by the client only as the table\'s own entries (an inherited name is no code)', () => {
    assert.equal(serverErrorSpec('INSUFFICIENT_STORAGE'), SERVER_ERROR_CODES.INSUFFICIENT_STORAGE);
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'ROOT_ROTATED']) assert.equal(serverErrorSpec(name), undefined, name);
  });

  it('retry at the statuses the client waits on, and only there', () => {
    assert.deepEqual([...RETRY_STATUSES].sort(), [429, 503]);
    for (let status = 400; status < 600; status++) {
      const waits = busyWaitMs({ statusCode: status, headers: { 'retry-after': '2' } }, 0);
      assert.equal(waits, RETRY_STATUSES.has(status) ? 2000 : undefined, String(status));
    }
  });

  it('include every engine code, whose default sentence is the wire\'s', () => {
    for (const [code, sentence] of Object.entries(ENGINE_ERROR_CODES)) {
      assert.equal(sentence, SERVER_ERROR_CODES[code as ServerErrorCode].sentence);
      const err = new EngineError(code as keyof typeof ENGINE_ERROR_CODES);
      assert.equal(err.message, sentence);
      assert.equal(err.name, 'EngineError');
    }
  });
});

describe('the README protocol table', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

  /** Each backticked code of every `| status | codes | when |` row: the statuses of its row, and whether it is marked as retried. */
  function documented(): Map<string, { statuses: number[]; retry: boolean[] }> {
    const codes = new Map<string, { statuses: number[]; retry: boolean[] }>();
    let inTable = false;
    for (const line of readme.split('\n')) {
      if (/^\| status \| codes \| when \|$/.test(line)) inTable = true;
      else if (!line.startsWith('|')) inTable = false;
      else if (inTable && !line.startsWith('| ---')) {
        const [, statusCell, codesCell] = line.split('|');
        const statuses = statusCell!.split('/').map((s) => Number(s.trim()));
        for (const m of codesCell!.matchAll(/`([A-Z0-9_]+)`( \(with `Retry-After`\))?/g)) {
          const entry = codes.get(m[1]!) ?? { statuses: [], retry: [] };
          entry.statuses.push(...statuses);
          entry.retry.push(m[2] !== undefined);
          codes.set(m[1]!, entry);
        }
      }
    }
    return codes;
  }

  it('lists every code of the table, once under each of its statuses, and no other', () => {
    const readmeCodes = documented();
    assert.deepEqual([...readmeCodes.keys()].sort(), TABLE.map(([code]) => code).sort());
    for (const [code, spec] of TABLE) {
      const { statuses } = readmeCodes.get(code)!;
      const own = [spec.status, ...(spec.alsoStatus === undefined ? [] : [spec.alsoStatus])];
      // A row may hold two statuses ("404 / 405"): the code's own must be among its row's, and every row naming it must hold one of them.
      for (const status of own) assert.ok(statuses.includes(status), `${code} is documented under ${status}`);
      assert.equal(readmeCodes.get(code)!.retry.length, own.length, `${code} is listed once per status`);
    }
  });

  it('marks "(with `Retry-After`)" exactly the codes that retry, at their retrying status', () => {
    const readmeCodes = documented();
    for (const [code, spec] of TABLE) assert.equal(readmeCodes.get(code)?.retry.some(Boolean), spec.retry, code);
  });
});
