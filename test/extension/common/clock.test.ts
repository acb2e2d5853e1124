/** The one clock of the window's surfaces: one tick for all of them, only while anyone listens, and ages that change with it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Clock, shownAges, shownTimes, TICK_MS, type Timers } from '../../../src/extension/common/clock.js';
import type { TrustState } from '../../../src/extension/trust/trust-state.js';

/** Timers under the test's hand: `advance` fires the interval as often as the time passed allows. */
function manualTimers(): Timers & { advance(ms: number): void; running: () => number } {
  let now = 1_000_000;
  const intervals = new Map<number, { fn: () => void; ms: number; next: number }>();
  let id = 0;
  return {
    now: () => now,
    setInterval: (fn, ms) => {
      intervals.set(++id, { fn, ms, next: now + ms });
      return id;
    },
    clearInterval: (timer) => void intervals.delete(timer as number),
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...intervals.values()].filter((t) => t.next <= end).sort((a, b) => a.next - b.next)[0];
        if (!due) break;
        now = due.next;
        due.next += due.ms;
        due.fn();
      }
      now = end;
    },
    running: () => intervals.size,
  };
}

describe('Clock', () => {
  it('ticks once a second for every listener at the same instant, and stops when the last one leaves', () => {
    const timers = manualTimers();
    const clock = new Clock(timers);
    const a: number[] = [];
    const b: number[] = [];
    assert.equal(timers.running(), 0, 'no timer while nobody listens');
    const stopA = clock.subscribe((now) => a.push(now));
    const stopB = clock.subscribe((now) => b.push(now));
    assert.equal(timers.running(), 1, 'one timer for every listener');
    timers.advance(3 * TICK_MS);
    assert.equal(a.length, 3);
    assert.deepEqual(a, b, 'every surface reads the same instant');
    assert.equal(clock.now(), a.at(-1));
    stopA();
    assert.equal(timers.running(), 1);
    stopB();
    assert.equal(timers.running(), 0);
    timers.advance(5000);
    assert.equal(clock.now(), timers.now(), 'read directly while nobody listens');
  });

  it('names the ages a state shows, which change with the seconds under a minute and the minutes after', () => {
    const enclave = (verifiedAt: number) => ({ attestation: { verifiedAt } }) as never;
    const verified = { kind: 'verified', server: 's', policy: {} as never, enclaves: [enclave(0), enclave(50_000)] } as unknown as TrustState;
    assert.deepEqual(shownTimes(verified, undefined), [0, 50_000]);
    assert.deepEqual(shownTimes({ kind: 'failed', server: 's', policy: undefined, failure: {} as never, at: 7 }, { ok: false, file: 'f', text: 't', checkedAt: 9 }), [9, 7]);
    assert.deepEqual(shownTimes({ kind: 'unverified', server: 's' }, undefined), []);
    assert.equal(shownAges([0], 51_000), '51 s');
    assert.notEqual(shownAges([0], 51_000), shownAges([0], 52_000));
    assert.equal(shownAges([0], 61_000), shownAges([0], 119_000), 'one render a minute past the first minute');
  });
});
