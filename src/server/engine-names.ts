/** The speech engines `serve --engine` may name: a module of its own, so the CLI checks the flag before loading any engine. */
export const ENGINE_NAMES = ['pocketsphinx', 'whisper', 'whisper-http'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];
