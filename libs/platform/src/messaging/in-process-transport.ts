import type { MessageDispatcher } from './dispatcher';
import type { Envelope } from './envelope';
import type { MessageTransport } from './transport';

/**
 * Delivers by calling the local dispatcher directly: `send` resolves once every local subscriber has
 * committed (or skipped as duplicates) all the messages, so "dispatched" means "applied". The monolith's default.
 */
export class InProcessTransport implements MessageTransport {
  constructor(private readonly dispatcher: MessageDispatcher) {}

  async send(envelopes: readonly Envelope[]): Promise<void> {
    await this.dispatcher.deliverBatch(envelopes);
  }
}
