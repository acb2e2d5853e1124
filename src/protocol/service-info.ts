/**
 * The service description a BlindBox server puts in the attestation's `user_data`, so that what the user sees about
 * the engine and model is attested too. On the wire it is a CBOR map of these five keys; this module owns the keys
 * and their types, the server encodes the map and the client core decodes it.
 */

/** What a server says it runs. Every value is short text. */
export interface ServiceInfo {
  readonly service: string;
  readonly version: string;
  readonly engine: string;
  readonly model: string;
  /** True when the attestation comes from the simulation provider. */
  readonly simulation: boolean;
}

/** The map the server encodes as `user_data`, its keys in a fixed order. */
export function serviceInfoToMap(info: ServiceInfo): Map<string, string | boolean> {
  return new Map<string, string | boolean>([
    ['service', info.service],
    ['version', info.version],
    ['engine', info.engine],
    ['model', info.model],
    ['simulation', info.simulation],
  ]);
}

/** Reads a decoded `user_data` map; undefined when it is not a service description (e.g. another project's document). */
export function serviceInfoFromMap(map: ReadonlyMap<unknown, unknown>): ServiceInfo | undefined {
  const text = (key: string) => (typeof map.get(key) === 'string' ? (map.get(key) as string) : undefined);
  const service = text('service');
  const version = text('version');
  const engine = text('engine');
  const model = text('model');
  if (!service || version === undefined || engine === undefined || model === undefined) return undefined;
  return Object.freeze({ service, version, engine, model, simulation: map.get('simulation') === true });
}
