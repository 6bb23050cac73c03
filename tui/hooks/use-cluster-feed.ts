import { useCallback, useEffect, useRef, type Dispatch } from 'react';
import type { ClusterEvent } from '../../cluster/index.js';
import type { FailoverDecision } from '../../cluster/postgres/cluster.js';
import type { ServerLogEvent } from '../../cluster/postgres/server-log.js';
import { eventsPerUpdateMax } from '../constants.js';
import type { ClusterController } from '../controller.js';
import type { DashboardAction, Snapshot } from '../state/dashboard-state.js';
import { serverLogSince } from '../state/event-log.js';

/** Reads everything the dashboard shows from the cluster, as plain data. */
export function takeSnapshot(controller: ClusterController, atMs: number): Snapshot {
  return {
    atMs,
    nodes: controller.status(),
    leader: controller.leader(),
    replication: controller.replicationSettings(),
    workload: controller.workload.stats(),
    lostWrites: controller.lostWrites().length,
    messages: controller.messages?.() ?? null,
    ...(controller.engine === undefined || controller.engine === 'replica-lab' ? {} : { engine: controller.engine }),
    ...(controller.pgSetting === undefined ? {} : { pgSetting: controller.pgSetting() }),
  };
}

/**
 * Subscribes to the cluster's events and polls status() every `pollMs`,
 * handing both over in one action per poll: however busy the cluster, the
 * dashboard updates its state at most 1000/pollMs times a second. Returns a
 * function that polls at once (after a command, so the next key sees its effect).
 */
export function useClusterFeed(controller: ClusterController, dispatch: Dispatch<DashboardAction>, pollMs: number, now: () => number): () => void {
  const poll = useRef<() => void>(() => {});
  useEffect(() => {
    let pending: ClusterEvent[] = [...controller.events()].slice(-eventsPerUpdateMax);
    let dropped = 0;
    const onEvent = (event: ClusterEvent): void => {
      if (pending.length < eventsPerUpdateMax) pending.push(event);
      else dropped++;
    };
    controller.on('event', onEvent);
    // What the servers logged and what the failover manager decided (PostgreSQL), read at each poll
    // from their bounded logs: the entries after the last one handed over.
    const since = <T,>(read: (() => readonly T[]) | undefined): (() => readonly T[]) => {
      let last: T | null = null;
      return () => {
        if (read === undefined) return [];
        let fresh: readonly T[];
        try {
          fresh = serverLogSince(read(), last);
        } catch {
          return [];
        }
        if (fresh.length > 0) last = fresh[fresh.length - 1]!;
        return fresh;
      };
    };
    const serverLog = since<ServerLogEvent>(controller.serverLog?.bind(controller));
    const failovers = since<FailoverDecision>(controller.failovers?.bind(controller));
    const update = (): void => {
      let snapshot: Snapshot;
      try {
        snapshot = takeSnapshot(controller, now());
      } catch {
        return; // a cluster that cannot answer now will be asked again at the next poll
      }
      const events = pending;
      const eventsDropped = dropped;
      pending = [];
      dropped = 0;
      const logged = serverLog();
      const decided = failovers();
      dispatch({ type: 'cluster-update', snapshot, events, eventsDropped, ...(logged.length === 0 ? {} : { serverLog: logged }), ...(decided.length === 0 ? {} : { failovers: decided }) });
    };
    update();
    poll.current = update;
    const timer = setInterval(update, pollMs);
    return () => {
      poll.current = () => {};
      clearInterval(timer);
      controller.off('event', onEvent);
    };
  }, [controller, dispatch, pollMs, now]);
  return useCallback(() => poll.current(), []);
}
