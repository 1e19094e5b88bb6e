/** Values injected by src/web/build.mjs (esbuild `define`). */

/** The example images (examples/*.json), keyed by mode. */
declare const __PW_EXAMPLES__: Record<string, unknown>;
/** Source of the bundled fuzzer worker (a classic script), started from a Blob URL so that it works from file://. */
declare const __PW_WORKER_SOURCE__: string;
