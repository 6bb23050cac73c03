// Every limit of the consensus core in one place (TigerBeetle style): queues,
// windows and batches are bounded so a slow or dead peer cannot grow memory.

/** Append messages in flight to one follower before the leader waits for an ack. */
export const inflightMessagesMax = 64;
/** Entries carried by one append message. */
export const batchEntriesMax = 512;
/** Payload bytes carried by one append message (a single larger entry still goes alone). */
export const batchBytesMax = 1 << 20;
/** Client writes waiting for their acknowledgement on one leader. */
export const pendingWritesMax = 65_536;
/** Linearizable reads waiting for their ReadIndex confirmation on one leader. */
export const pendingReadsMax = 4_096;
/** Events kept between two `ready()` calls; older ones are counted as dropped. */
export const eventsPerReadyMax = 1_024;
/** Fixed bytes a WAL record adds to an entry's payload; lsn counts them so byte lag is true. */
export const entryHeaderBytes = 32;
/**
 * Entries a core keeps in memory when its host can read older ones back from
 * disk: two full append batches. Each entry lives long enough to be promoted
 * to V8's old space, so a larger window only grows a node's heap (8,192 cost
 * ~5 MB of RSS at 64 clients) without a throughput gain; a follower further
 * behind is served from the WAL (page cache).
 */
export const logEntriesInMemoryMax = 1_024;
/**
 * The highest term a core reaches by its own election or promote(): 2^40 - 1,
 * the highest term a peer accepts at the link (peerPositionMax in
 * cluster/limits.ts, which checks the two are equal). At this term a core
 * refuses to campaign (event `campaign-refused`) rather than send messages
 * its peers would drop. The link keeps peers' terms far below it (limits.ts,
 * peerTermAdoptMax), so reaching it takes more than 2^39 elections.
 */
export const termMax = 2 ** 40 - 1;
