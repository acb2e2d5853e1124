/** Writes the service description (the protocol's `ServiceInfo`) as the CBOR map the server attests in `user_data`. */
import { cborEncoder } from '../../shared/cbor.js';
import { serviceInfoToMap, type ServiceInfo } from '../../protocol/service-info.js';

export function encodeServiceInfo(info: ServiceInfo): Uint8Array {
  return cborEncoder.encode(serviceInfoToMap(info));
}
