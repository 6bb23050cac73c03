// Group commit: many writes, one fsync. A flush requested while one is
// running waits behind it and then covers every write made until it starts,
// so at most one sync is in flight and at most one is queued, however many
// callers ask.

export interface GroupCommitOptions<T> {
  /** Starts one sync covering every write so far; must capture what it covers before its first await. */
  readonly round: () => Promise<T>;
  /** True when something was written since the last round started. */
  readonly dirty: () => boolean;
  /** The answer when nothing needs syncing. */
  readonly idle: () => T;
}

/** Shares one sync among every flush request that arrives while another sync runs. */
export class GroupCommit<T> {
  private running: Promise<T> | null = null;
  private queued: Promise<T> | null = null;

  constructor(private readonly options: GroupCommitOptions<T>) {}

  /** Resolves once every write made before the call is durable. */
  request(): Promise<T> {
    // The queued round first: between a round's end and the start of the one
    // queued behind it, a caller must join the queued round, not race it.
    if (this.queued !== null) return this.queued;
    if (this.running === null) return this.startOrIdle();
    if (!this.options.dirty()) return this.running;
    const next = (): Promise<T> => {
      this.queued = null;
      return this.startOrIdle();
    };
    this.queued = this.running.then(next, next);
    return this.queued;
  }

  /** Resolves (never rejects) when no round is running or queued. */
  async settled(): Promise<void> {
    while (this.running !== null || this.queued !== null) await (this.queued ?? this.running)!.catch(() => undefined);
  }

  private startOrIdle(): Promise<T> {
    if (!this.options.dirty()) {
      try {
        return Promise.resolve(this.options.idle());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const round = this.options.round();
    this.running = round;
    const clear = (): void => {
      if (this.running === round) this.running = null;
    };
    round.then(clear, clear);
    return round;
  }
}
