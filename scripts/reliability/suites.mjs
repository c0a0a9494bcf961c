// The suites' cores, for test/reliability/*.test.ts (typed by suites.d.mts) and run.mjs.
export { crashSuite } from './crash.mjs';
export { concurrencySuite } from './concurrency.mjs';
export { faultSuite, startFaultProxy, FAULT_KINDS } from './faults.mjs';
export { loadSuite } from './load.mjs';
export { badInputSuite, corpusCases } from './bad-input.mjs';
export { fuzzSuite, FUZZ_TARGETS } from './fuzz.mjs';
export { securitySuite } from './security.mjs';
