/** Scenario registry with the Linux seed scenarios (003, 004) registered. */
import './s003.js';
import './s004.js';
export * from './registry.js';
