import type { Envelope } from '../envelope';
import type { MessageTransport } from '../transport';
import type { BullMqClient } from './bullmq-client';

/**
 * The transport of a host that shares its messages with other hosts (REMOTE_MODULES): every message goes to the
 * local subscribers in process, as in the monolith, and onto the queues of the peer hosts over BullMQ.
 *
 * Routing: a peer with a route (the message types it consumes, e.g. an extracted billing service: its module's
 * `billingConsumes`, which billing checks against its handlers when it starts) gets only those types. A peer without
 * one gets every message produced here (fan-out) and completes at once the jobs of types it has no handler for: one
 * Redis job per message, also for types it ignores. The monolith's own host is such a peer for the services.
 *
 * A message produced elsewhere reaches this host's relay only as a dead letter recorded by a local consumer and then
 * requeued (DeadLetters.record): it goes to the local subscribers only, not back to the peers.
 *
 * `send` resolves when the local subscribers have committed and every peer's Redis has acknowledged the jobs. If
 * Redis is away it rejects with a TransportUnavailableError naming no message, so the relay marks nothing and keeps
 * the whole batch pending (without counting an attempt); otherwise it rejects with the local failure, as
 * InProcessTransport does.
 */
export class BullMqRoutingTransport implements MessageTransport {
  constructor(
    private readonly local: MessageTransport,
    private readonly peers: readonly BullMqClient[],
    /** Whether a module's relay runs in this process (it produced the message). */
    private readonly producedHere: (module: string) => boolean,
    /** Whether a message type has a local handler (the others skip the local transport). Default: all go to it. */
    private readonly handledHere: (type: string) => boolean = () => true,
    /** Per peer host (queue name): the only message types it gets. A peer not listed gets every message. */
    private readonly routes: Readonly<Record<string, ReadonlySet<string>>> = {},
  ) {}

  async send(envelopes: readonly Envelope[]): Promise<void> {
    const outgoing = envelopes.filter((e) => this.producedHere(e.source));
    const local = envelopes.filter((e) => this.handledHere(e.type));
    const enqueues = this.peers.map((peer) => {
      const route = this.routes[peer.queueName];
      const batch = route ? outgoing.filter((e) => route.has(e.type)) : outgoing;
      return batch.length > 0 ? peer.enqueue(batch) : Promise.resolve();
    });
    const [enqueued, applied] = await Promise.allSettled([
      Promise.all(enqueues),
      local.length > 0 ? this.local.send(local) : Promise.resolve(),
    ]);
    if (enqueued.status === 'rejected') throw enqueued.reason;
    if (applied.status === 'rejected') throw applied.reason;
  }
}
