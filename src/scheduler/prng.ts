/** The scheduler's and the fuzzer's PRNG is the project's one (src/util/prng.ts). */
export { Prng } from '../util/prng.js';
