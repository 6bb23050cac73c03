// Every limit of the dashboard in one place: how often it looks at the
// cluster, how much history it keeps, how small a terminal it accepts.

/** Ink renders at most this many frames per second, however fast the cluster changes. */
export const framesPerSecondMax = 10;

/** How often the dashboard asks the cluster for status(); events are batched into the same update. */
export const statusPollMs = 250;

/** One chart point per this many ms. */
export const chartSampleMs = 500;
/** The charts show this much history. */
export const chartHistoryMs = 60_000;
export const chartSamplesMax = chartHistoryMs / chartSampleMs;

/** Event log lines kept (the screen shows the newest that fit). */
export const eventLogLinesMax = 500;
/** Space freezes the event log and the message pane with this much history to scroll back through. */
export const frozenHistoryMs = 60_000;
/** Events read per update; a flood beyond this is counted, not drawn. */
export const eventsPerUpdateMax = 2_000;

/** Checksums remembered per applied index, to compare nodes that reported at different times. */
export const checksumIndexesMax = 256;

/** The smallest terminal the dashboard draws in. */
export const terminalColumnsMin = 80;
export const terminalRowsMin = 24;
/** From this width the node table shows pid, lag in entries and bytes, checksum and memory. */
export const wideColumnsMin = 140;

/**
 * A node-table row whose report is this much older than the freshest row's says its age. Nodes
 * report every 100 ms by default, so this is two or three missed reports, not the usual spread.
 */
export const rowAgeSkewMsMin = 300;

/** A follower this far behind in replay lag is shown as catching up. */
export const catchingUpLagMsMin = 500;

/** The steps `+` and `-` move the workload rate along, in operations per second. */
export const workloadRates: readonly number[] = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000];

/** A long message (a refusal, an error) wraps onto at most this many status lines, taken from the log. */
export const statusLinesMax = 3;

/** Commands remembered for ↑ in the command line. */
export const commandHistoryMax = 50;
/** Rows a query result pane keeps. */
export const resultRowsMax = 200;
/** Longest command line accepted. */
export const commandLengthMax = 2_000;
