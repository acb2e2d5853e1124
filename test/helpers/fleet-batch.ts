/** What the fleet tests send and count: the batch of 8 spoken files, and the transcriptions a replica answered. */
import type { ServeProcess } from '../../support/cli.js';
import { SCRIPT } from '../../support/speech.js';

const sentences = [...SCRIPT.slt.map((text) => ({ voice: 'slt' as const, text })), ...SCRIPT.rms.map((text) => ({ voice: 'rms' as const, text }))];

/** Eight files: the six sentences, and the first two again in the other voice. */
export const FLEET_BATCH = [...sentences, { voice: 'rms' as const, text: SCRIPT.slt[0]! }, { voice: 'slt' as const, text: SCRIPT.rms[0]! }];

/** How many transcriptions a replica answered, from its request log (`POST /path 200`). */
export function served(replica: ServeProcess): number {
  return replica.stderr().split('\n').filter((line) => /^\[enclave\] POST \/\S+ 200$/.test(line)).length;
}
