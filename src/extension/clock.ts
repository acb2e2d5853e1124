/**
 * Imported first by main.ts, so this line runs before any other module of the
 * bundle: the start of the extension's own module evaluation, for the
 * activation-time measurement.
 */
export const bundleEvaluationStart = performance.now();
