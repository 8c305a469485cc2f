import { randomUUID } from 'node:crypto';
import { Logger, type LoggerService } from '@nestjs/common';
import { Client, type ClientConfig } from 'pg';
import { describeError } from './errors';

/** Advisory lock space of relay owners (the first key of the two-key form; the second is hashtext(owner)). */
export const OWNER_LOCK_SPACE = 1_835_365_446;

/** The LISTEN/NOTIFY channel that wakes a module's relay (sent by requeues and by other processes' writes). */
export function outboxChannel(module: string): string {
  return `outbox_${module}`;
}

/**
 * This process's presence on its database: one connection that holds the session advisory lock of its relay
 * owner token for as long as the process lives, and LISTENs for the modules' wake-up channels.
 *
 * The lock is how other instances tell a crashed relay from a slow one: a lease whose owner's lock is free belongs to
 * a process that is gone (PostgreSQL drops a session's locks when its connection closes, SIGKILL included), so its
 * messages are taken over at once instead of after the lease runs out.
 *
 * When the connection drops (a PostgreSQL restart), it reconnects with backoff until it succeeds, however long that
 * takes, then LISTENs and locks again and wakes every relay.
 */
export class RelayPresence {
  readonly owner = randomUUID();
  private readonly logger: LoggerService;
  private readonly wakers = new Map<string, () => void>();
  private client?: Client;
  private connection?: ClientConfig;
  private started?: Promise<void>;
  private stopping = false;
  private reconnectTimer?: NodeJS.Timeout;
  private lastWarning = 0;
  /** Consecutive failed reconnects (for the backoff). */
  private failures = 0;

  constructor(logger?: LoggerService) {
    this.logger = logger ?? new Logger('RelayPresence');
  }

  /** Whether the lock is held right now (false while reconnecting). */
  get present(): boolean {
    return this.client !== undefined;
  }

  /**
   * Registers a module's relay: `wake` runs on a NOTIFY of its channel and after every reconnect. The first call
   * connects (with `connection`, any module role of this database will do: LISTEN and advisory locks need no grant).
   */
  async join(module: string, connection: ClientConfig, wake: () => void): Promise<void> {
    this.wakers.set(module, wake);
    this.connection ??= connection;
    this.started ??= this.connect();
    await this.started;
    await this.client?.query(`LISTEN ${outboxChannel(module)}`).catch(() => undefined); // a drop reconnects and LISTENs again
  }

  leave(module: string): void {
    this.wakers.delete(module);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({ ...this.connection, application_name: 'monolith-first:relay-presence' });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    client.on('notification', (n) => this.wakers.get(n.channel.replace(/^outbox_/, ''))?.());
    try {
      await client.connect();
      await client.query(`SELECT pg_advisory_lock($1, hashtext($2))`, [OWNER_LOCK_SPACE, this.owner]);
      for (const module of this.wakers.keys()) await client.query(`LISTEN ${outboxChannel(module)}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw new Error(`The relays could not connect to announce themselves: ${describeError(error)}`, { cause: error });
    }
    this.client = client;
  }

  private lost(client: Client, error?: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (this.stopping) return;
    this.warn(`The relays' presence connection dropped (${error ? describeError(error) : 'closed'}); reconnecting.`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    // Full jitter, 100 ms doubling to 5 s: a restarted server is found within a few seconds, without a thundering herd.
    const delay = Math.round(Math.random() * Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6)));
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        () => {
          this.failures = 0;
          this.logger.log('The relays\u2019 presence connection is back: LISTEN and owner lock restored.');
          for (const wake of this.wakers.values()) wake();
        },
        (error: unknown) => {
          this.failures++;
          this.warn(`Reconnecting the relays' presence connection failed (${describeError(error)}); trying again.`);
          if (!this.stopping) this.scheduleReconnect();
        },
      );
    }, delay);
  }

  private warn(message: string): void {
    const now = Date.now();
    if (now - this.lastWarning < 10_000) return;
    this.lastWarning = now;
    this.logger.warn(message);
  }
}
