// The live refresh loop: reload every interval while the page is visible and not paused.
// The next reload is timed from the end of the previous one, so a slow server never gets
// overlapping requests; a reload asked for while one runs aborts it (its answer is stale).

/** The timers and visibility the loop uses; tests pass fakes. */
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  visible(): boolean;
}

const browserClock: Clock = {
  setTimeout: (fn, ms) => window.setTimeout(fn, ms),
  clearTimeout: (h) => window.clearTimeout(h as number),
  visible: () => document.visibilityState === "visible",
};

export class Refresher {
  private timer: unknown = null;
  private inflight: AbortController | null = null;
  private paused = false;
  private stopped = true;

  constructor(
    private readonly load: (signal: AbortSignal) => Promise<void>,
    private readonly intervalMs = 2000,
    private readonly clock: Clock = browserClock,
  ) {}

  /** Starts the loop with a reload now. */
  start(): void {
    this.stopped = false;
    this.now();
  }

  /** Stops the loop and aborts a running reload. */
  stop(): void {
    this.stopped = true;
    this.cancelTimer();
    this.inflight?.abort();
    this.inflight = null;
  }

  /** Pauses or resumes the periodic reloads; resuming reloads at once. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (paused) this.cancelTimer();
    else this.now();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** The page became visible (or hidden): a visible page reloads at once. */
  visibilityChanged(): void {
    if (this.clock.visible() && !this.paused) this.now();
  }

  /** Reloads now (the view changed), even when paused, aborting a reload still running. */
  now(): void {
    if (this.stopped) return;
    this.cancelTimer();
    this.inflight?.abort();
    const controller = new AbortController();
    this.inflight = controller;
    this.load(controller.signal)
      .catch(() => undefined)
      .finally(() => {
        if (this.inflight !== controller) return;
        this.inflight = null;
        this.schedule();
      });
  }

  private schedule(): void {
    if (this.stopped || this.paused) return;
    this.cancelTimer();
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      if (this.clock.visible() && !this.paused) this.now();
    }, this.intervalMs);
  }

  private cancelTimer(): void {
    if (this.timer != null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
