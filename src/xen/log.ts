/**
 * The hypervisor console. Xen's MEM_LOG is
 *   #define MEM_LOG(_f, _a...) gdprintk(XENLOG_WARNING , _f "\n" , ## _a)      (xen/arch/x86/mm.c)
 *   #define gdprintk(_l, _f, _a...) printk(XENLOG_GUEST _l "%s:%d:d%d " _f,
 *                                          __FILE__, __LINE__, current_domain_id(), ## _a)
 *                                                                     (xen/include/xen/config.h)
 * and the serial console prefixes every line with "(XEN) ". `__LINE__` is that of the source line
 * where GCC of the time reported the (possibly multi-line) MEM_LOG statement: its last line; for
 * the linear page-table message, which sits inside the define_get_linear_pagetable() macro, it is
 * the line of the macro's instantiation for the level.
 */

/**
 * Line numbers in xen/arch/x86/mm.c at xen-unstable 6020fcb848 (2010-11-18; unchanged up to
 * 4.1.0-rc6): the Xen seed 001 ran. The seed's own lines (2389, 964, 2965) are among them.
 */
export const MM_C_LINE = {
  couldNotGetPageRef: 658, // get_page_from_pagenr
  linearL2: 897, // define_get_linear_pagetable(l2)
  linearL3: 939, // define_get_linear_pagetable(l3)
  linearL4: 964, // define_get_linear_pagetable(l4)
  badL1Flags: 802, // get_page_from_l1e
  errorGettingMfnFromL1: 889, // get_page_from_l1e, could_not_pin
  badL2Flags: 910,
  superpageDisallowed: 925,
  badL3Flags: 951,
  badL4Flags: 976,
  failureAllocL1: 1204,
  failureAllocL2: 1348,
  failureAllocL3: 1458,
  failureAllocL4: 1505,
  modL1BadFlags: 1766,
  illegalL4Update: 1959,
  modL2BadFlags: 1834,
  modL3BadFlags: 1900,
  modL4BadFlags: 1971,
  errorValidating: 2142, // alloc_page_type
  typeCountOverflow: 2325,
  badType: 2389, // __get_page_type
  errorInstallingBaseptr: 2732, // new_guest_cr3
  errorInstallingNewUserMfn: 3057, // do_mmuext_op, MMUEXT_NEW_USER_BASEPTR
  badSetLdtArgs: 3160, // do_mmuext_op, MMUEXT_SET_LDT
  couldNotGetPageMachphys: 3621, // do_mmu_update, MMU_MACHPHYS_UPDATE
  errorPinning: 2965, // do_mmuext_op, pin_page
  alreadyPinned: 2981,
  mfnBadDomain: 3016,
  notPinned: 3026,
  invalidExtCmd: 3293,
  couldNotGetPageNormalUpdate: 3439, // do_mmu_update
  invalidPageUpdateCmd: 3640,
  ptwrCouldNotGetPage: 4958, // ptwr_emulated_update
} as const;

/** One console line with its origin, for findings. */
export interface XenLogLine {
  /** The line exactly as Xen's serial console shows it, e.g. `(XEN) mm.c:2965:d80 Error while pinning mfn 1d2e04`. */
  text: string;
  /** mm.c line number, when the line came from MEM_LOG. */
  line?: number;
  /** Domain id printed after `d`. */
  domid: number;
}

/** Collects the hypervisor's console output. */
export class XenConsole {
  readonly lines: XenLogLine[] = [];

  /** `MEM_LOG(...)` from xen/arch/x86/mm.c at `line`, on behalf of domain `domid`. */
  memLog(line: number, domid: number, message: string): void {
    this.lines.push({ text: `(XEN) mm.c:${line}:d${domid} ${message}`, line, domid });
  }

  /** A plain `printk` line (no file/line prefix). */
  printk(domid: number, message: string): void {
    this.lines.push({ text: `(XEN) ${message}`, domid });
  }

  /** The console text, one line per entry. */
  text(): string[] {
    return this.lines.map((l) => l.text);
  }

  /** Lines logged since index `from` (use `lines.length` as a mark). */
  since(from: number): string[] {
    return this.lines.slice(from).map((l) => l.text);
  }
}

/** `%lx` of an unsigned number. */
export function lx(n: number | bigint): string {
  return (typeof n === 'bigint' ? BigInt.asUintN(64, n) : n).toString(16);
}
