/**
 * Every command's arguments and flags, declared once: the commands parse with these tables and `--help`, the usage
 * lines and the README's CLI section are printed from them. Pure data, so `blindbox --help` loads no command.
 */
import type { CommandSpec, FlagTable } from './flags.js';

const json = { type: 'boolean', default: false, description: 'print one JSON object instead of the summary' } as const;
const trustRoot = { type: 'string', value: '<pem>', multiple: true, description: 'also trust this root certificate file, e.g. a simulation root' } as const;
const pcr = { type: 'string', value: '<index>=<hex>', multiple: true, description: 'require this PCR value; adds to and overrides --policy' } as const;

/** Which roots and policy to trust: the flags of the commands that check a document offline (`verify-receipt`) and of the live ones. */
const trustFlags = {
  'trust-root': trustRoot,
  policy: { type: 'string', value: '<file>', description: 'enforce this policy file: name, PCRs, maxAgeSeconds, roots' },
  pcr,
} as const satisfies FlagTable;

/** Which way to the server: the flags of every command that connects to one. */
const proxyFlags = {
  proxy: { type: 'string', value: '<url>', description: 'connect through this HTTP proxy (http://[user:password@]host:port, CONNECT tunnel; TLS stays pinned to the enclave); default: HTTPS_PROXY unless NO_PROXY names the server' },
  'no-proxy': { type: 'boolean', default: false, description: 'connect directly, whatever HTTPS_PROXY says' },
} as const satisfies FlagTable;

/** The flags of the commands that connect to a live server (`verify`, `transcribe`). */
const attestationFlags = {
  ...trustFlags,
  'max-age': { type: 'string', value: '<seconds>', description: 'refuse an attestation document older than this; overrides the policy\'s maxAgeSeconds' },
  timeout: { type: 'string', value: '<seconds>', description: 'give up attesting after this long, on any request phase that stalls this long, and on an answer not received whole this long after it began (a transcript may take 10 minutes to begin)', default: '30' },
  ...proxyFlags,
} as const satisfies FlagTable;

export const verifyDocSpec = {
  name: 'verify-doc',
  args: '<file>',
  summary: 'Verify a saved attestation document offline: signature, certificate chain, PCRs, nonce and age.',
  flags: {
    at: { type: 'string', value: '<ISO-8601|unix-ms>', description: 'verify as of this time instead of now' },
    'trust-root': trustRoot,
    pcr,
    nonce: { type: 'string', value: '<hex>', description: 'require this nonce in the document' },
    'max-age': { type: 'string', value: '<seconds>', description: 'refuse a document older than this' },
    json,
  },
} as const satisfies CommandSpec;

export const verifySpec = {
  name: 'verify',
  args: '<url>',
  summary: 'Attest a live server and print what was proven; nothing but the attestation is sent.',
  flags: { ...attestationFlags, json },
} as const satisfies CommandSpec;

/** The flags that let audio go sealed through a TLS-inspecting middlebox (`transcribe`, `proxy`; `diagnose`, to see the way as they would). */
const inspectionFlags = {
  'allow-inspected-tls': {
    type: 'boolean',
    default: false,
    description: 'if a TLS-inspecting proxy or firewall terminates TLS, send the audio sealed to the enclave\'s attested HPKE key instead of refusing; its certificate must be valid for Node\'s CAs, NODE_EXTRA_CA_CERTS or --inspection-ca',
  },
  'inspection-ca': { type: 'string', value: '<pem>', multiple: true, description: 'with --allow-inspected-tls: also trust this CA certificate file for the inspecting middlebox (not for the enclave)' },
} as const satisfies FlagTable;

export const transcribeSpec = {
  name: 'transcribe',
  args: '<url> <audio>...',
  summary: 'Attest the server, then (only then) upload the audio over the pinned channel and print or write the transcript.',
  flags: {
    ...attestationFlags,
    format: { type: 'string', value: '<format>', default: 'text', description: 'text, json, verbose_json, srt, vtt, or markdown: rendered from verbose_json as the extension does' },
    language: { type: 'string', value: '<code>', description: 'the spoken language, e.g. en' },
    'out-dir': { type: 'string', value: '<dir>', description: 'write one transcript and its receipt per audio file into this folder' },
    concurrency: { type: 'string', value: '<n>', default: '4', description: 'files transcribed at once with --out-dir, 1 to 16' },
    receipt: { type: 'string', value: '<file>', description: 'keep the receipt of a single transcript in this file' },
    stream: { type: 'boolean', default: false, description: 'print one file\'s text as it is decoded, segment by segment; exit 1 with the code if its receipt then fails' },
    ...inspectionFlags,
  },
} as const satisfies CommandSpec;

export const proxySpec = {
  name: 'proxy',
  args: '<url>',
  summary: 'Serve an OpenAI-compatible endpoint on loopback for other tools: it attests the server, sends each upload over the pinned channel as transcribe does, and answers only with transcripts whose receipt verified. Prints its base URL and token first; stops on Ctrl-C.',
  flags: {
    ...attestationFlags,
    listen: { type: 'string', value: '<host:port>', default: '127.0.0.1:0', description: 'listen on this IP address and port (0: any free port); loopback only, unless --allow-remote' },
    'allow-remote': { type: 'boolean', default: false, description: 'allow a --listen address that is not loopback: other machines may then reach the endpoint, and the token crosses the network in clear text' },
    ...inspectionFlags,
  },
} as const satisfies CommandSpec;

export const diagnoseSpec = {
  name: 'diagnose',
  args: '<url>',
  summary: 'Check the way to a server step by step (URL, route, name, TCP, the TLS certificate presented, attestation) and print a report to paste into a ticket; exit 1 names the step that failed. No audio is sent.',
  flags: {
    ...trustFlags,
    ...proxyFlags,
    ...inspectionFlags,
    timeout: { type: 'string', value: '<seconds>', default: '10', description: 'give up each step after this long' },
    json: { ...json, description: 'print the report as one JSON object' },
  },
} as const satisfies CommandSpec;

export const verifyReceiptSpec = {
  name: 'verify-receipt',
  args: '<receipt.json>',
  summary: 'Check offline that an attested enclave signed for exactly this audio and this transcript.',
  flags: {
    ...trustFlags,
    audio: { type: 'string', value: '<file>', description: 'the audio that was sent; required' },
    transcript: { type: 'string', value: '<file>', description: 'the transcript as received; required' },
    json,
  },
} as const satisfies CommandSpec;

export const verifyEvidenceSpec = {
  name: 'verify-evidence',
  args: '<evidence.json>',
  summary: 'Re-verify an exported evidence file offline: the document at its own time and the TLS key binding.',
  flags: { 'trust-root': trustRoot, json },
} as const satisfies CommandSpec;

export const serveSpec = {
  name: 'serve',
  args: '',
  summary: 'Run the reference server: attested by the Nitro Secure Module in an enclave, or simulated with --simulate.',
  flags: {
    simulate: { type: 'boolean', default: false, description: 'simulated attestation with a local CA (NOT confidential)' },
    'trust-out': { type: 'string', value: '<root.pem>', description: 'with --simulate: write the simulation root here for clients to trust' },
    ca: { type: 'string', value: '<dir>', description: 'with --simulate: read the simulation root from this folder, or create it there; shared by replicas and restarts' },
    port: { type: 'string', value: '<n>', default: '0', description: 'listen on this port; 0 is any free port' },
    engine: { type: 'string', value: '<name>', default: 'pocketsphinx', description: 'pocketsphinx, whisper (whisper.cpp run by the server), whisper-http, or none for attestation only' },
    upstream: { type: 'string', value: '<url>', description: 'with --engine whisper-http: the whisper.cpp server inside the enclave' },
    'model-file': { type: 'string', value: '<path>', description: 'with --engine whisper: the ggml Whisper model to run; with whisper-http: the model file measured into PCR16' },
    'whisper-instances': { type: 'string', value: '<n>', description: 'with --engine whisper: whisper-server processes, 1 to 64; default 1' },
    'whisper-threads': { type: 'string', value: '<n>', description: 'with --engine whisper: threads of each process, 1 to 256; default the cores ÷ the processes (at least 1)' },
    'whisper-server': { type: 'string', value: '<path>', description: 'with --engine whisper: the whisper-server executable; default the one npm run setup builds' },
    workers: { type: 'string', value: '<n>', description: 'pocketsphinx worker threads, 1 to 64' },
    'split-seconds': { type: 'string', value: '<s>', description: 'split audio at least this long at pauses across workers; default 120' },
    'keep-alive': { type: 'string', value: '<seconds>', description: 'close idle client connections after this long; default 5' },
    'connections-per-source': { type: 'string', value: '<n>', description: 'most connections at once from one address, 1 to 4096' },
    'upload-budget-mb': { type: 'string', value: '<MB>', description: 'most MB of uploads stored at once; default and upper bound: the free space of the temporary directory, less a reserve' },
    'attestations-per-source': { type: 'string', value: '<n>', description: 'attestation documents one address may have signed per second (4 times that at once), 1 to 10000; default 5' },
  },
} as const satisfies CommandSpec;

export const demoSpec = {
  name: 'demo',
  args: '',
  summary: 'Start a simulation server, attest it, transcribe a sample over the pinned channel, and stop it.',
  flags: {
    audio: { type: 'string', value: '<file>', description: 'the audio to transcribe; default media/sample.wav' },
    engine: { type: 'string', value: '<name>', default: 'pocketsphinx', description: 'pocketsphinx or whisper-http' },
    upstream: { type: 'string', value: '<url>', description: 'with --engine whisper-http: the whisper.cpp server' },
  },
} as const satisfies CommandSpec;

/** Every command, in the order help lists them. */
export const COMMAND_SPECS: readonly CommandSpec[] = [verifyDocSpec, verifySpec, transcribeSpec, proxySpec, diagnoseSpec, verifyReceiptSpec, verifyEvidenceSpec, serveSpec, demoSpec];
