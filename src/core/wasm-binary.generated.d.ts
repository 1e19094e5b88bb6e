// The type of the module scripts/build-wasm.mjs generates (wasm-binary.generated.ts, not committed),
// so that `npm run typecheck` works on a fresh clone before any build.
export declare const WASM_BASE64: string;
