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

/**
 * Pages of 65,536 log indexes the committed log is kept in (12 bytes an
 * index: 64 pages are 4,194,304 indexes in 48 MiB, the log of a history of
 * about 3 GB). Past it, and past committedSparseMax committed entries
 * elsewhere, the file is refused rather than held, so even a file of nothing
 * but committed records checks under 200 MB RSS.
 */
export const committedPagesMax = 64;

/** Committed entries kept outside the pages (a second term at one index, an index in no page). */
export const committedSparseMax = 100_000;

/** Distinct rolled-back log positions kept (nodes that rolled back each one are listed with it). */
export const rolledBackMax = 100_000;
