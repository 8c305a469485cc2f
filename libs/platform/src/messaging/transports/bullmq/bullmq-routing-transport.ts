import type { Envelope } from '../../core/envelope';
import type { MessageTransport } from '../transport';
import type { BullMqClient } from './bullmq-client';

/**
 * The transport of a host that shares its messages with other hosts (REMOTE_MODULES): every message goes to the
 * local subscribers in process, as in the monolith, and onto the queues of the peer hosts over BullMQ.
 *
 * Routing: a peer with a route (the message types it consumes, e.g. an extracted billing service: its module's
 * `billingConsumes`, which billing checks against its handlers when it starts) gets only those types. A peer without
 * one gets every message produced here (fan-out) and completes at once the jobs of types it has no handler for.
 *
 * A message produced elsewhere reaches this host's relay only as a dead letter recorded by a local consumer and then
 * requeued (DeadLetters.record): it goes to the local subscribers only, not back to the peers.
 *
 * `deliver` resolves when the local subscribers have committed and every peer's Redis has acknowledged the job.
 * Messages delivered at the same moment (many keys in parallel) share one `addBulk` per peer. If Redis is away it
 * rejects with a TransportUnavailableError, so the relay keeps the message without counting an attempt.
 */
export class BullMqRoutingTransport implements MessageTransport {
  private readonly batches = new Map<BullMqClient, { envelopes: Envelope[]; done: Promise<void> }>();

  constructor(
    private readonly local: MessageTransport,
    private readonly peers: readonly BullMqClient[],
    /** Whether a module's relay runs in this process (it produced the message). */
    private readonly producedHere: (module: string) => boolean,
    /** Per peer host (queue name): the only message types it gets. A peer not listed gets every message. */
    private readonly routes: Readonly<Record<string, ReadonlySet<string>>> = {},
  ) {}

  carries(type: string): boolean {
    return this.local.carries(type) || this.peers.some((peer) => this.routes[peer.queueName]?.has(type) ?? true);
  }

  async deliver(envelope: Envelope): Promise<void> {
    const remote = this.producedHere(envelope.source)
      ? this.peers.filter((peer) => this.routes[peer.queueName]?.has(envelope.type) ?? true)
      : [];
    const [enqueued, applied] = await Promise.allSettled([
      Promise.all(remote.map((peer) => this.enqueue(peer, envelope))),
      this.local.carries(envelope.type) ? this.local.deliver(envelope) : Promise.resolve(),
    ]);
    if (enqueued.status === 'rejected') throw enqueued.reason;
    if (applied.status === 'rejected') throw applied.reason;
  }

  /** Joins the batch of this tick for `peer`; one addBulk per peer and tick. */
  private enqueue(peer: BullMqClient, envelope: Envelope): Promise<void> {
    let batch = this.batches.get(peer);
    if (!batch) {
      const envelopes: Envelope[] = [];
      const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.batches.delete(peer);
        return peer.enqueue(envelopes);
      });
      batch = { envelopes, done };
      this.batches.set(peer, batch);
    }
    batch.envelopes.push(envelope);
    return batch.done;
  }
}
