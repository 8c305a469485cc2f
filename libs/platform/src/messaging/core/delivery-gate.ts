/**
 * How many deliveries run at once in this process, across every module's relay and transport. A suspect (a message
 * that may have crashed the process before) runs alone: the gate waits until nothing else runs, holds back
 * everything that comes after, and lets the rest go once the suspect is done. So if it kills the process again, it
 * takes nothing else with it, and its next claim knows it was alone.
 */
export class DeliveryGate {
  private running = 0;
  private soloRunning = false;
  private readonly waiting: { solo: boolean; since: number; start: () => void }[] = [];
  private soloTimer?: NodeJS.Timeout;

  /**
   * @param slots deliveries at once
   * @param soloWaitMs how long a suspect waits for the deliveries in flight to finish; a delivery that hangs (a handler
   *   awaiting something that never answers) must not stop the whole process, so after this the suspect runs beside it
   */
  constructor(
    readonly slots: number,
    private readonly soloWaitMs = 30_000,
  ) {
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`DeliveryGate needs at least one slot, got ${slots}.`);
  }

  run<T>(work: () => Promise<T>): Promise<T> {
    return this.enter(false, work);
  }

  solo<T>(work: () => Promise<T>): Promise<T> {
    return this.enter(true, work);
  }

  /** Deliveries running now. */
  get busy(): number {
    return this.running;
  }

  private enter<T>(solo: boolean, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({
        solo,
        since: Date.now(),
        start: () => {
          work()
            .then(resolve, reject)
            .finally(() => {
              this.running--;
              if (solo) this.soloRunning = false;
              this.pump();
            });
        },
      });
      this.pump();
    });
  }

  private pump(): void {
    clearTimeout(this.soloTimer);
    while (this.waiting.length > 0 && !this.soloRunning) {
      const next = this.waiting[0];
      const waited = Date.now() - next.since;
      if (next.solo && this.running > 0 && waited < this.soloWaitMs) {
        this.soloTimer = setTimeout(() => this.pump(), this.soloWaitMs - waited);
        this.soloTimer.unref();
        return;
      }
      if (!next.solo && this.running >= this.slots) return;
      this.waiting.shift();
      this.running++;
      if (next.solo) this.soloRunning = true;
      next.start();
    }
  }
}
