/**
 * The commands DESIGN.md promises, so `--help` can say plainly which of them
 * exist in this build and which are still to come. A planned command drops out
 * of the "coming" list by itself once a module registers a command of that name.
 * (The dashboard, `replica-lab` with no command, exists: see commands/dashboard.ts.)
 */
export type PlannedCommand = {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
};

export const plannedCommands: readonly PlannedCommand[] = [
  { name: 'start', usage: 'start --headless', summary: 'the same cluster without the TUI, for scripts and pipes' },
  { name: 'lab', usage: 'lab [id]', summary: 'a guided lab on sync/async replication and Raft failover' },
  { name: 'labs', usage: 'labs', summary: 'list the labs' },
  { name: 'quiz', usage: 'quiz', summary: 'questions on replication, from the quiz bank' },
  { name: 'bench', usage: 'bench', summary: 'measure write throughput, latency and replication lag' },
  { name: 'nemesis', usage: 'nemesis', summary: 'run a workload under random faults and check its history' },
  { name: 'sim', usage: 'sim', summary: 'run the core in the seeded simulator over many seeds' },
  { name: 'check', usage: 'check <history>', summary: 'check a recorded history for lost writes and stale reads' },
];

/** Finds the planned command a user typed, if any, to tell "not built yet" from a typo. */
export function findPlanned(name: string): PlannedCommand | undefined {
  return plannedCommands.find((planned) => planned.name === name);
}
