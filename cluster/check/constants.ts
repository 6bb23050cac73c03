// Every limit of the checkers in one place, so memory stays bounded however
// long a run goes on.

/** Anomalies of each kind kept as examples by the online checker (counts stay exact). */
export const onlineExamplesMax = 100;

/** Anomalies of each kind kept by the offline checker (counts stay exact). */
export const offlineExamplesMax = 10_000;

/** Reads between invoke and completion the online checker tracks; past it the oldest is forgotten. */
export const readsInFlightMax = 100_000;

/** Sessions whose last write and reads per key are remembered; past it the oldest session is forgotten. */
export const sessionsMax = 10_000;

/** Per-second buckets the online checker keeps for the consistency chart. */
export const secondsKeptMax = 120;

/** Longest history line read (a `final` record with 10,000 rows of large values is the longest legitimate one); a longer one is refused, so memory stays bounded on a file that is not a history. */
export const historyLineBytesMax = 64 * 1024 * 1024;

/** Bytes read from a history file at a time. */
export const historyChunkBytes = 1024 * 1024;

/** `final` records in one history (one per node per final state recorded); past it the file is refused, as the checker keeps them all. */
export const finalRecordsMax = 1_000;
