// The bounds of the node-level faults, in a leaf module with no imports: the
// protocol validates against them, and the dashboard's command line names
// them in its usage errors without pulling in any of the cluster's code.

/** Clock rates the clock fault accepts: a node's timers run this many times real speed. */
export const clockRateMin = 0.05;
export const clockRateMax = 20;

/** The most a node-level fault may add, in ms: past that a node is simply down. */
export const nodeFaultMsMax = 10_000;
