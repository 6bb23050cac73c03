// The slow-apply fault: every entry this node applies takes `ms` longer.
//
// The node applies on its event loop, in the Ready loop. Blocking the loop
// for the extra time would hold up everything else the node does (receiving
// appends, acknowledging them, its fsyncs' completions), so a slow apply
// would also show as write and flush lag. A replica's apply is a stage of
// its own (PostgreSQL's startup process replays WAL while the walreceiver
// writes and flushes it), so here it is paced instead: the core may hand out
// one entry more each time `ms` has passed since the last one was applied
// (RaftCore.setApplyCap). Receiving and flushing go on meanwhile, and what
// the node reports as applied is what it has applied.

/** What the pacer steers: the consensus core's apply cap and the host's Ready loop. */
export interface PacedApply {
  appliedIndex(): number;
  /** How far the node could apply now, if nothing held it back. */
  applicableIndex(): number;
  setApplyCap(index: number | null): void;
  /** Runs the Ready loop (which applies up to the cap). */
  drain(): void;
}

export class ApplyPacer {
  private ms = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly target: PacedApply) {}

  get slowMs(): number {
    return this.ms;
  }

  /** 0 lifts the fault: everything applicable is applied on the next Ready loop (the caller runs it). */
  set(ms: number): void {
    this.ms = ms;
    if (ms === 0) {
      this.cancel();
      this.target.setApplyCap(null);
      return;
    }
    // From now on nothing is applied but through the pacer.
    if (this.timer === null) this.target.setApplyCap(this.target.appliedIndex());
    this.schedule();
  }

  /** After every Ready loop: if an entry waits to be applied, its extra time starts now. */
  schedule(): void {
    if (this.ms === 0 || this.timer !== null) return;
    if (this.target.applicableIndex() <= this.target.appliedIndex()) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.ms === 0) return;
      this.target.setApplyCap(this.target.appliedIndex() + 1);
      this.target.drain();
    }, this.ms);
  }

  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
