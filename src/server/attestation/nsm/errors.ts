/**
 * What can go wrong talking to the Nitro Secure Module: one code per NSM `ErrorCode`, and the device's own failures.
 * Each code's default message is a clause (as `serve` prints it after the code: "cannot attest with the Nitro Secure
 * Module (NSM_DEVICE_MISSING): there is no …"); thrown errors usually name the request, the PCR or the errno instead.
 */
export const NSM_ERROR_CODES = {
  // The NSM's ErrorCode variants (aws-nitro-enclaves-nsm-api src/api/mod.rs), as it answers them
  NSM_SUCCESS_AS_ERROR: 'the NSM answered Error(Success), a contradiction and never a usable answer',
  NSM_INVALID_ARGUMENT: 'the NSM refused an argument of the request',
  NSM_INVALID_INDEX: 'the NSM refused a PCR index beyond its max_pcrs',
  NSM_INVALID_RESPONSE: 'the NSM could not form its response',
  NSM_READ_ONLY_INDEX: 'the NSM refused to change a locked PCR (0 to 15 are locked at boot)',
  NSM_INVALID_OPERATION: 'the NSM refused the operation',
  NSM_BUFFER_TOO_SMALL: 'the NSM had too small a buffer for its answer',
  NSM_INPUT_TOO_LARGE: 'the request is larger than the NSM accepts (also refused here, before it reaches the device)',
  NSM_INTERNAL_ERROR: 'the NSM failed internally',
  // The device and its driver
  NSM_DEVICE_MISSING: 'there is no Nitro Secure Module at /dev/nsm: this is not a Nitro enclave',
  NSM_DEVICE_ERROR: 'the Nitro Secure Module cannot be opened, or its ioctl failed',
  NSM_RESPONSE_TOO_LARGE: "the NSM's answer is larger than the driver's 12 KiB (EMSGSIZE)",
  NSM_MALFORMED_RESPONSE: "the NSM's response is not CBOR, or not its answer to what was asked",
  NSM_UNEXPECTED_STATE: 'the NSM answered, but not as an honest one would (e.g. a PCR it lists as locked is not)',
} as const;

export type NsmErrorCode = keyof typeof NSM_ERROR_CODES;

/** The NSM or its device failed; nothing it answered may be used. */
export class NsmError extends Error {
  constructor(
    readonly code: NsmErrorCode,
    message: string = NSM_ERROR_CODES[code],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NsmError';
  }
}
