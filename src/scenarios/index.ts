/** Scenario registry with the Linux seed scenarios (003, 004), the Xen PV ones (000-002), the historical Xen bugs (xsa.ts) and the historical Linux bugs (rcu_table_free.ts, mremap.ts, pfnmap.ts, dirty_cow.ts) registered. */
import './s003.js';
import './s004.js';
import './s000.js';
import './s001.js';
import './s002.js';
import './xsa.js';
import './rcu_table_free.js';
export * from './registry.js';
import './mremap.js';
import './pfnmap.js';
import './dirty_cow.js';
