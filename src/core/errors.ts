/** Errors raised by pagewalk. `code` is stable; `message` names the problem and where. */
export type PagewalkErrorCode = 'EINVAL_ARG' | 'EINVAL_CONTROL' | 'EGP' | 'ENOMEM_FRAMES' | 'EFRAME_STATE' | 'EMAP_CONFLICT' | 'EBAD_INPUT' | 'WASM_TRAP';

export class PagewalkError extends Error {
  readonly code: PagewalkErrorCode;
  /** True when the error was caused by user input (CLI exits 2 with the message). */
  readonly userError: boolean;
  constructor(code: PagewalkErrorCode, message: string, userError = code !== 'WASM_TRAP') {
    super(message);
    this.name = 'PagewalkError';
    this.code = code;
    this.userError = userError;
  }
}

/** Runs a WASM call, converting a trap (RuntimeError) into a PagewalkError naming the operation. */
/** The error to throw for `e` caught around a WASM call (hot paths catch inline instead of `guardWasm`). */
export function wasmError(what: string, e: unknown): unknown {
  return e instanceof WebAssembly.RuntimeError ? new PagewalkError('WASM_TRAP', `internal error in the WASM core during ${what}: ${e.message}`) : e;
}

export function guardWasm<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) throw new PagewalkError('WASM_TRAP', `internal error in the WASM core during ${what}: ${e.message}`);
    throw e;
  }
}
