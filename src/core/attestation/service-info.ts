/**
 * The service description a BlindBox server puts in `user_data`: a small CBOR
 * map, so that what the user sees about the engine and model is attested too.
 */
import { cborEncoder } from './cose.js';
import { decodeStrict } from './cbor.js';

/** What a server says it runs. Every value is short text. */
export interface ServiceInfo {
  readonly service: string;
  readonly version: string;
  readonly engine: string;
  readonly model: string;
  /** True when the attestation comes from the simulation provider. */
  readonly simulation: boolean;
}

export function encodeServiceInfo(info: ServiceInfo): Uint8Array {
  return cborEncoder.encode(new Map<string, unknown>(Object.entries(info)));
}

/** Reads `user_data` as a service description; undefined when it is something else (e.g. another project's document). */
export function decodeServiceInfo(userData: Uint8Array | null): ServiceInfo | undefined {
  if (!userData || userData.length === 0) return undefined;
  try {
    const map = decodeStrict(userData, { maxBytes: 1024, maxDepth: 1 }, 'service description');
    if (!(map instanceof Map)) return undefined;
    const text = (key: string) => (typeof map.get(key) === 'string' ? (map.get(key) as string) : undefined);
    const service = text('service');
    const version = text('version');
    const engine = text('engine');
    const model = text('model');
    if (!service || version === undefined || engine === undefined || model === undefined) return undefined;
    return Object.freeze({ service, version, engine, model, simulation: map.get('simulation') === true });
  } catch {
    return undefined;
  }
}
