/** What can go wrong talking to the Nitro Secure Module: one code per NSM `ErrorCode`, and the device's own failures. */

export type NsmErrorCode =
  // The NSM's ErrorCode variants (aws-nitro-enclaves-nsm-api src/api/mod.rs), as it answers them
  | 'NSM_SUCCESS_AS_ERROR' // `Error(Success)`: a contradiction, never a usable answer
  | 'NSM_INVALID_ARGUMENT'
  | 'NSM_INVALID_INDEX' // a PCR index beyond max_pcrs
  | 'NSM_INVALID_RESPONSE'
  | 'NSM_READ_ONLY_INDEX' // extending a locked PCR (0..15 are locked at boot)
  | 'NSM_INVALID_OPERATION'
  | 'NSM_BUFFER_TOO_SMALL'
  | 'NSM_INPUT_TOO_LARGE' // also: a request over 4 KiB, refused before it reaches the device
  | 'NSM_INTERNAL_ERROR'
  // The device and its driver
  | 'NSM_DEVICE_MISSING' // no /dev/nsm: not running in a Nitro enclave
  | 'NSM_DEVICE_ERROR' // open or ioctl failed with an errno
  | 'NSM_RESPONSE_TOO_LARGE' // the driver's EMSGSIZE: an answer over 12 KiB
  | 'NSM_MALFORMED_RESPONSE' // not CBOR, or not the NSM's answer to what was asked
  | 'NSM_UNEXPECTED_STATE'; // the NSM answered, but not what an honest one would (e.g. a PCR it claims locked is not)

export class NsmError extends Error {
  constructor(
    readonly code: NsmErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NsmError';
  }
}
