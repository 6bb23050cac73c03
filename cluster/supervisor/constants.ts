// The limits of the built-in clients, the history recorder and the nemesis, in
// one place: every queue and buffer they keep is bounded by one of these.

/** Clients (= sessions) one workload may run at once. */
export const clientsMax = 1_024;

/** Operations per second an open-loop workload may be asked for. */
export const rateMax = 100_000;

/** Keys the workload may spread over (the final state records every row). */
export const keysMax = 100_000;

/** Bytes of one written value. */
export const valueBytesMax = 1_000_000;

/** History records kept in memory for the TUI (a ring). */
export const historyRingMax = 1_000;

/** Bytes of history waiting for the disk past which the workload stops starting operations. */
export const historyBufferBytesHigh = 8 * 1024 * 1024;

/** Bytes of history waiting for the disk past which records are dropped (and counted): never reached while admission works. */
export const historyBufferBytesMax = 64 * 1024 * 1024;

/** How often the open loop hands out operations. */
export const workloadTickMs = 10;

/** Rows of kv recorded per node in the final state; above it `rows` is null. */
export const finalRowsMax = 10_000;

/** Faults a nemesis run keeps in its log for the report. */
export const nemesisFaultsKeptMax = 10_000;
