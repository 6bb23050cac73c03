// Every limit and wait of the lab engine in one place.

/** Actions kept in a lab's journal; past it the oldest are dropped. */
export const journalActionsMax = 10_000;

/** Rows of one query result kept in the journal. */
export const journalRowsMax = 100;

/** Workload history records kept per cluster for checks (the workload's own ring holds 1,000). */
export const historyKeptMax = 100_000;

/** Lag samples kept per cluster (one per follower per observation, at most every lagSampleEveryMs). */
export const lagSamplesKeptMax = 50_000;
export const lagSampleEveryMs = 50;

/** Node samples kept per cluster (one per node per observation, at most every nodeSampleEveryMs). */
export const nodeSamplesKeptMax = 50_000;
export const nodeSampleEveryMs = 50;

/** Rollback files read per cluster, and entries kept per file. */
export const rollbackFilesMax = 100;
export const rollbackEntriesMax = 10_000;

/** How often a session re-evaluates its current check while nothing else prompts it. */
export const refreshIntervalMs = 200;

/** How often an autopilot's waitFor looks again. */
export const waitPollMs = 50;

/** An autopilot's default bound on waiting for an outcome (a slow 2-core CI box included). */
export const autopilotWaitMs = 20_000;

/** After its autopilot, how long a headless run waits for a step's check to pass. */
export const checkWaitMs = 20_000;

/** Bound on electing the first leader of a lab's cluster. */
export const firstLeaderWaitMs = 20_000;

/** Workload writes acknowledged before a lab's first step begins (bounded by warmupWaitMs). */
export const warmupWritesMin = 10;
export const warmupWaitMs = 10_000;

/** Quiz sessions kept in the progress file. */
export const quizSessionsKeptMax = 200;

/** The facts of one passed run kept in the progress file per engine (JSON bytes), for a debrief on another engine to compare with. */
export const labFactsBytesMax = 16_384;
