/** The in-process rate limits and agent-run tracker against their conformance suites. */
import { MemoryRunTracker } from '../../src/budgets/agent-runs.js';
import { MemoryRateLimits } from '../../src/budgets/rate-memory.js';
import { rateLimitsSuite } from './rate-limits.suite.js';
import { runTrackerSuite } from './run-tracker.suite.js';

rateLimitsSuite('in-process', async () => ({ rates: new MemoryRateLimits(), close: async () => {} }));
runTrackerSuite('in-process', async () => ({ runs: new MemoryRunTracker(), close: async () => {} }));
