import type { Envelope } from '../envelope';
import type { MessageTransport } from '../transport';
import type { BullMqClient } from './bullmq-client';

/**
 * The transport of a host that shares its messages with other hosts (REMOTE_MODULES): every message goes to the
 * local subscribers in process, as in the monolith, and onto the queue of every peer host over BullMQ.
 *
 * Routing is fan-out: each peer gets every message produced here and completes at once the jobs of types it has no
 * handler for. Simple and impossible to get wrong (no subscription table to keep in step across deployments); the
 * cost is one Redis job per message and peer, also for types the peer ignores. With the usual one or two peers that
 * is a few hundred bytes of Redis per message for the `keepCompletedSeconds` window.
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
  ) {}

  async send(envelopes: readonly Envelope[]): Promise<void> {
    const outgoing = envelopes.filter((e) => this.producedHere(e.source));
    const local = envelopes.filter((e) => this.handledHere(e.type));
    const [enqueued, applied] = await Promise.allSettled([
      outgoing.length > 0 ? Promise.all(this.peers.map((peer) => peer.enqueue(outgoing))) : Promise.resolve(),
      local.length > 0 ? this.local.send(local) : Promise.resolve(),
    ]);
    if (enqueued.status === 'rejected') throw enqueued.reason;
    if (applied.status === 'rejected') throw applied.reason;
  }
}
