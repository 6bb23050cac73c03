// Open design prompts for interview practice: no single right answer, but a
// checklist of what a strong answer covers.

import type { DesignPrompt } from './types.js';

export const designPrompts: readonly DesignPrompt[] = [
  {
    id: 'global-leaderboard',
    title: 'A leaderboard read from three regions',
    prompt:
      'A game leaderboard for 50 million players must answer reads within 10 ms in three regions (US, EU, Asia) and take about 20,000 score updates per second. Choose a replication setup and defend it.',
    checklist: [
      'Asks how fresh reads must be: a global top-100 can be seconds old, but a player should see their own new score (read-your-writes)',
      'Notes that cross-region round trips (roughly 70–250 ms) rule out a synchronous cross-region step on the 10 ms read path: reads come from a replica in the reader\'s region',
      'Picks where writes go (one leader region with async replicas elsewhere, or writes sharded by player region) and states the write latency for far players and the RPO if a region is lost',
      'Keeps each region durable locally (quorum across availability zones) while replicating across regions asynchronously, and says so',
      'Gives a player their own score fresh: a session token / log position the regional replica waits for, or the player\'s reads of their own entry routed to the leader',
      'Sizes the write path: 20k updates/s means batching, sharding by player, or aggregating scores before ranking (e.g. sorted sets per shard, merged top-N)',
      'Monitors replica lag and bounds staleness (stop serving from a replica more than N seconds behind)',
      'Plans region failure: who takes writes, how fencing prevents two leaders, what the players on the lost side see',
    ],
    labs: ['lag-anomalies', 'async-lost-writes', 'sync-cost'],
  },
  {
    id: 'payments-ledger',
    title: 'A ledger that never loses a transfer',
    prompt:
      'A payments ledger must never lose an acknowledged transfer, even if a whole data center is destroyed. Writes have a p99 budget of 50 ms. You have two data centers 30 ms apart (round trip) and can use a third site. Design the replication.',
    checklist: [
      'States RPO = 0 for acknowledged transfers, which rules out asynchronous acknowledgement and automatic failover to an async replica',
      'Uses a quorum across three failure domains (e.g. 2 + 2 + 1 witness, or Raft with a voter at the third site) so losing any one site keeps a majority and every acknowledged write',
      'Checks the latency budget: a commit costs the round trip to the nearest quorum member (~30 ms) plus fsyncs, within 50 ms p99 only if the quorum does not need the farthest site',
      'Treats a timeout as indeterminate: idempotency keys (transfer ids) so clients can retry without double-spending',
      'Reads balances linearizably (leader with ReadIndex/lease, or quorum reads), never from a possibly stale replica, when a decision depends on them',
      'Fences old leaders (terms as tokens; the ledger rejects stale epochs) so a partitioned leader cannot accept transfers',
      'Names the cost: writes stop (not lie) when two sites are unreachable; RTO is an election plus client redirection',
      'Proves it with failure testing (kill, partition, slow links) and a checker for lost acknowledged writes',
    ],
    labs: ['quorum-commit', 'partition', 'split-brain'],
  },
  {
    id: 'chat-own-messages',
    title: 'My message disappeared',
    prompt:
      'A chat service runs PostgreSQL with one primary and five async read replicas behind a load balancer. Users report that their own message sometimes disappears right after they send it and reappears on refresh, and that unread counts sometimes go down and back up. Diagnose and fix it.',
    checklist: [
      'Diagnoses replication lag: the read after the write hit a replica that had not replayed it (read-your-writes), and successive reads hit replicas with different lag (monotonic reads)',
      'Proposes read-your-writes fixes with their costs: read from the primary for a short while after a user writes; or remember the commit LSN and wait until the replica\'s pg_last_wal_replay_lsn() reaches it',
      'Fixes monotonic reads: pin a user (session) to one replica, or carry the highest LSN seen and wait for it on any replica',
      'Measures before and after: replay_lag per replica, and a count of anomalies from client-side checks',
      'Considers cross-device sessions (phone and laptop): a per-user position stored server-side, not only in one client',
      'Mentions not to fix it with synchronous_commit = remote_apply on all five replicas without weighing the commit latency and availability cost',
    ],
    labs: ['lag-anomalies', 'first-steps', 'ack-levels'],
  },
  {
    id: 'lock-service',
    title: 'A configuration and lock service',
    prompt:
      'Design the store behind service discovery and distributed locks for 2,000 services in one region. Reads are frequent, writes are rare, and two holders of the same lock would corrupt data.',
    checklist: [
      'Chooses consensus (Raft, as etcd or ZooKeeper-style ZAB) with 3 or 5 voters spread over availability zones, and explains odd sizes',
      'Makes lock ownership safe with fencing tokens (a revision or term that only grows) checked by the resource, since a paused holder may wake up after its lease expired',
      'Serves lock and leader reads linearizably (ReadIndex, or leases with bounded clock drift); allows serializable/local reads for watchers that tolerate staleness',
      'Enables PreVote and CheckQuorum so a flapping node cannot depose the leader',
      'Scales reads with watches, caches, or non-voting learners rather than more voters (each voter slows commits)',
      'Keeps it in one region (cross-region voters add round trips to every write) and plans backups/snapshots and disaster recovery',
      'Explains behaviour under partition: the minority side refuses writes and linearizable reads',
    ],
    labs: ['raft-election', 'partition', 'split-brain'],
  },
  {
    id: 'reporting-replica',
    title: 'Reports on a replica',
    prompt:
      'Twenty-minute reporting queries run on a PostgreSQL hot standby while the primary serves OLTP traffic. Queries get cancelled, or, after a setting change, the primary\'s tables bloat. Someone proposes making the standby synchronous "so reports are fresh". What do you do?',
    checklist: [
      'Explains replay conflicts: the standby must either delay replay (max_standby_streaming_delay) or cancel queries that need rows the primary has vacuumed',
      'Explains hot_standby_feedback: it stops the cancellations by holding back vacuum on the primary, at the cost of bloat',
      'Rejects making it synchronous "so reports are fresh": with on or remote_write a commit waits only for the standby to write or flush the WAL, not to replay it, so reports get no fresher; only remote_apply waits for replay, and then every long query that holds up replay (max_standby_streaming_delay) holds up every commit',
      'Offers alternatives: a dedicated async replica allowed to lag, logical replication or CDC into an analytics store, or snapshots',
      'Sets expectations on freshness for reports (seconds to minutes) and monitors replay lag',
    ],
    labs: ['ack-levels', 'sync-cost', 'first-steps'],
  },
  {
    id: 'region-failover',
    title: 'Losing the primary region',
    prompt:
      'Your PostgreSQL primary and its synchronous standby are in one region; an async replica is in another. The primary region goes dark. Design the failover: who decides, what is lost, and how you avoid two primaries.',
    checklist: [
      'Separates detection from decision: health checks from more than one vantage point, and a human or a consensus-backed tool (e.g. Patroni with a DCS) deciding',
      'States the RPO: whatever the remote async replica had not received, measured by its lag when the region went dark; decides whether that loss is acceptable or the failover waits',
      'Fences the old primary: it must not take writes if the region returns (DCS leader key with TTL, STONITH, network fencing), and rejoins as a standby via pg_rewind or a re-clone',
      'Redirects clients: DNS with low TTLs, a proxy, or connection strings with multiple hosts and target_session_attrs=read-write',
      'Knows the promoted replica starts a new timeline and that remaining replicas must follow it',
      'Reconsiders the design: quorum across three regions removes the choice between losing data and waiting, at the cost of write latency',
      'Rehearses it (game days) and documents the runbook',
    ],
    labs: ['split-brain', 'async-lost-writes', 'quorum-commit'],
  },
  {
    id: 'inventory-partition',
    title: 'Do not oversell during a partition',
    prompt:
      'An inventory service runs in two data centers. During a network partition between them, it must not sell more units than exist, and the business wants to keep selling if possible. Design it.',
    checklist: [
      'Recognises the CAP choice: a single strongly consistent counter means one side (the minority, or both with two sites) stops selling during the partition',
      'Puts the decision on a quorum that needs a third site, so one data center plus the tiebreaker keeps selling while the isolated one refuses',
      'Offers a way to stay available: split stock into per-site reservations (escrow) that each side can sell without coordination, rebalanced when connected',
      'Uses linearizable reads or conditional writes (compare-and-set on a version) for the final decrement, never a stale replica read',
      'Makes retries safe: order ids as idempotency keys, since a timed-out decrement may have happened',
      'Describes what customers see on the refusing side and how to reconcile after the partition',
    ],
    labs: ['partition', 'quorum-commit', 'split-brain'],
  },
];
