/**
 * Reads the service description a BlindBox server puts in `user_data` (its shape is the protocol's; the server
 * encodes it). Decoded with the verifier's strict CBOR rules, as the rest of the document is.
 */
import { serviceInfoFromMap, type ServiceInfo } from '../../protocol/service-info.js';
import { decodeStrict } from './cbor.js';

/** Reads `user_data` as a service description; undefined when it is something else (e.g. another project's document). */
export function decodeServiceInfo(userData: Uint8Array | null): ServiceInfo | undefined {
  if (!userData || userData.length === 0) return undefined;
  try {
    const map = decodeStrict(userData, { maxBytes: 1024, maxDepth: 1 }, 'service description');
    return map instanceof Map ? serviceInfoFromMap(map) : undefined;
  } catch {
    return undefined;
  }
}
