/**
 * The reference x86 page walker (Intel SDM vol. 3 ch. 4, docs/paging-semantics.md), kept
 * independent of the WASM core so that the differential tests compare two implementations.
 */
export { referenceAccess, isCanonical } from './walker.js';
export { referenceLoadPdptes, pdpteReservedMask, pdptBase, type PdpteLoad } from './pdpte.js';
export { referenceMode } from './mode.js';
export { SparseMemory } from './memory.js';
export { checkRights, isUserAccess, type WalkRights, type RightsDecision } from './rights.js';
export { isLeafEntry, reservedBitsSet, leafPhysAddress, nextTableAddress, leafPageSize, type EntryContext } from './entry.js';
export type { RefMemory, RefCpuState, RefConfig, RefStep, RefAccessResult } from './types.js';
export * as refBits from './bits.js';
export {
  referenceNestedAccess,
  eptLevels,
  eptpProblem,
  eptReservedBits,
  eptMisconfigured,
  EPT,
  EPTP_AD,
  EPT_QUAL,
  NPF_FINAL,
  NPF_GUEST_TABLE,
  type HostConfig,
  type NestedExit,
  type NestedResult,
  type NestedRow,
} from './nested.js';
export { RefNestedTlb, type RefNestedEntry } from './nested-tlb.js';
export type { NestedTlbContext } from './nested.js';
