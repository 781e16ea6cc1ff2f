/** The in-process budget counters against the shared conformance suite. */
import { MemoryCounters } from '../../src/budgets/counters-memory.js';
import { budgetCountersSuite } from './budget-counters.suite.js';

budgetCountersSuite('in-process', async () => {
  let now = 1_700_000_000_000;
  const counters = new MemoryCounters(() => now);
  return {
    counters,
    advance: async (ms) => {
      now += ms;
    },
    close: () => counters.close(),
  };
});
