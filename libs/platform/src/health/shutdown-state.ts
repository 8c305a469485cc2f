import { Injectable } from '@nestjs/common';

/** Whether this process is draining (SIGTERM or SIGINT received): readiness then answers 503 so traffic moves elsewhere. */
@Injectable()
export class ShutdownState {
  private since?: Date;

  get draining(): boolean {
    return this.since !== undefined;
  }

  get drainingSince(): Date | undefined {
    return this.since;
  }

  beginDrain(): void {
    this.since ??= new Date();
  }
}
