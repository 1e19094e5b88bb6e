/** The Xen PV hypervisor model. See docs/xen-model.md. */
export * from './page-info.js';
export * from './log.js';
export * from './p2m.js';
export * from './mm.js';
export * from './hypercalls.js';
export { XenHypervisor, type XenMachine, type XenOptions, type XenRefusal, type XenStats } from './hypervisor.js';
export * from './stack.js';
