// The bench's public surface: scenarios, statistics and machine facts.
export { throughput, type ThroughputOptions, type ThroughputResult } from './throughput.js';
export { failover, type FailoverOptions, type FailoverResult } from './failover.js';
export { startup, type StartupOptions, type StartupResult } from './startup.js';
export { catchUp, type CatchUpOptions, type CatchUpResult } from './catch-up.js';
export { fsyncRate, percentile, ratePerSecond, round, Samples, summarize, type Summary, type WalTotals } from './stats.js';
export { machine, cpuSeconds, type Machine } from './machine.js';
