/**
 * The service description a BlindBox server puts in the attestation's `user_data`, so that what the user sees about
 * the engine and model is attested too. On the wire it is a CBOR map of these keys; this module owns the keys and
 * their types, the server encodes the map and the client core decodes it. It also carries the enclave's HPKE public
 * key (`hpke_public_key`, sealed-body.ts), so that the document binds it as it binds the TLS key in `public_key`.
 */
import { HPKE_KEY_BYTES, HPKE_USER_DATA_KEY } from './sealed-body.js';


/** What a server says it runs: short text, and the key bodies are sealed to. */
export interface ServiceInfo {
  readonly service: string;
  readonly version: string;
  readonly engine: string;
  readonly model: string;
  /** True when the attestation comes from the simulation provider. */
  readonly simulation: boolean;
  /** The enclave's HPKE public key (32 raw X25519 bytes), made at its start; absent: it takes no sealed bodies. */
  readonly hpkePublicKey?: Uint8Array;
}

/** The map the server encodes as `user_data`, its keys in a fixed order. */
export function serviceInfoToMap(info: ServiceInfo): Map<string, string | boolean | Uint8Array> {
  const map = new Map<string, string | boolean | Uint8Array>([
    ['service', info.service],
    ['version', info.version],
    ['engine', info.engine],
    ['model', info.model],
    ['simulation', info.simulation],
  ]);
  if (info.hpkePublicKey) map.set(HPKE_USER_DATA_KEY, info.hpkePublicKey);
  return map;
}

/** Reads a decoded `user_data` map; undefined when it is not a service description (e.g. another project's document). */
export function serviceInfoFromMap(map: ReadonlyMap<unknown, unknown>): ServiceInfo | undefined {
  const text = (key: string) => (typeof map.get(key) === 'string' ? (map.get(key) as string) : undefined);
  const service = text('service');
  const version = text('version');
  const engine = text('engine');
  const model = text('model');
  if (!service || version === undefined || engine === undefined || model === undefined) return undefined;
  const hpke = map.get(HPKE_USER_DATA_KEY);
  const hpkePublicKey = hpke instanceof Uint8Array && hpke.length === HPKE_KEY_BYTES ? new Uint8Array(hpke) : undefined;
  return Object.freeze({ service, version, engine, model, simulation: map.get('simulation') === true, ...(hpkePublicKey ? { hpkePublicKey } : {}) });
}
