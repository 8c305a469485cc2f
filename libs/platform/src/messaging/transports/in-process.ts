import type { MessageDispatcher } from '../core/dispatcher';
import type { Envelope } from '../core/envelope';
import type { MessageTransport } from './transport';

/**
 * Delivers by calling the local dispatcher directly: `deliver` resolves once every local subscriber has committed
 * (or skipped a duplicate), so "delivered" means "applied". The monolith's transport.
 */
export class InProcessTransport implements MessageTransport {
  constructor(private readonly dispatcher: MessageDispatcher) {}

  async deliver(envelope: Envelope): Promise<void> {
    await this.dispatcher.deliver(envelope);
  }

  carries(type: string): boolean {
    return this.dispatcher.handles(type);
  }
}
