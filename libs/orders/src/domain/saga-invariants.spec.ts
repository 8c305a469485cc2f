import { type SagaCommandName } from './order';
import { type Decision, type SagaCommand, type SagaInput } from './saga';
import { Saga, policy } from './saga.test-kit';

/**
 * A simulation of inventory and billing as their contracts describe them: each handles a message id once
 * (its inbox), handles an order's messages in the order sent, and replies. Deadlines fire at random moments,
 * replies are sometimes delivered twice, the customer sometimes cancels. After every step the invariants must
 * hold, and in the end every order must be CONFIRMED or CANCELLED with nothing outstanding.
 */
describe('invariants under random interleavings', () => {
  type Reservation = 'NONE' | 'RESERVED' | 'RELEASED' | 'COMMITTED' | 'RETURNED';
  type Payment = 'NONE' | 'CAPTURED' | 'DECLINED' | 'REFUNDED' | 'VOIDED';

  function mulberry32(seed: number) {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function simulate(seed: number) {
    const random = mulberry32(seed);
    const chance = (p: number) => random() < p;
    const inStock = chance(0.8);
    const canPay = chance(0.7);
    const impatience = [0.1, 0.3, 0.9][Math.floor(random() * 3)]; // how eagerly deadlines fire: slow receivers make timeouts
    const s = Saga.placed([{ sku: 'A', quantity: 1 }], {
      ...policy,
      stepTimeoutMs: 10,
      reserveDeadlineMs: 30,
      paymentDeadlineMs: 30,
      maxRetryDelayMs: 40,
    });
    let reservation: Reservation = 'NONE';
    let payment: Payment = 'NONE';
    const seen = new Set<string>();
    const errors: string[] = [];
    const toInventory: SagaCommand[] = [];
    const toBilling: SagaCommand[] = [];
    const fromInventory: SagaInput[] = [];
    const fromBilling: SagaInput[] = [];
    const deadlines: SagaInput[] = [];
    let cancels = chance(0.4) ? 1 + Math.floor(random() * 2) : 0;

    const route = (d: Decision) => {
      for (const c of d.commands) (c.name === 'CapturePayment' || c.name === 'RefundPayment' ? toBilling : toInventory).push(c);
      if (d.deadline) deadlines.push({ type: 'Deadline', step: d.deadline.step, attempt: d.deadline.attempt });
    };
    const inventory = (c: SagaCommand): SagaInput | null => {
      const fail = (why: string) => (errors.push(`${c.name} on ${reservation}: ${why}`), null);
      switch (c.name) {
        case 'ReserveStock':
          if (reservation === 'RELEASED') return { type: 'StockReservationFailed', reason: 'RELEASED', shortages: [] };
          if (reservation === 'NONE' && !inStock)
            return { type: 'StockReservationFailed', reason: 'OUT_OF_STOCK', shortages: [{ sku: 'A', requested: 1, available: 0 }] };
          if (reservation === 'NONE') reservation = 'RESERVED';
          return { type: 'StockReserved', lines: [{ sku: 'A', quantity: 1, unitPriceCents: 900 }], totalCents: 900 };
        case 'ReleaseStock':
          if (reservation === 'COMMITTED' || reservation === 'RETURNED') return fail('cannot release committed stock');
          reservation = 'RELEASED';
          return { type: 'StockReleased' };
        case 'CommitStock':
          if (reservation !== 'RESERVED' && reservation !== 'COMMITTED') return fail('nothing reserved to commit');
          reservation = 'COMMITTED';
          return { type: 'StockCommitted' };
        case 'ReturnStock':
          if (reservation !== 'COMMITTED' && reservation !== 'RETURNED') return fail('nothing committed to return');
          reservation = 'RETURNED';
          return { type: 'StockReturned' };
        default:
          return fail('not an inventory command');
      }
    };
    const billing = (c: SagaCommand): SagaInput => {
      if (c.name === 'CapturePayment') {
        if (payment === 'REFUNDED' || payment === 'VOIDED') return { type: 'PaymentDeclined', reason: 'CANCELLED', detail: 'voided' };
        if (payment === 'NONE') payment = canPay ? 'CAPTURED' : 'DECLINED';
        return payment === 'CAPTURED'
          ? { type: 'PaymentCaptured', amountCents: c.payload.amountCents, entryId: 'e1' }
          : { type: 'PaymentDeclined', reason: 'INSUFFICIENT_FUNDS', detail: 'balance too low' };
      }
      const refunded = payment === 'CAPTURED' || payment === 'REFUNDED' ? 900 : 0;
      payment = payment === 'CAPTURED' || payment === 'REFUNDED' ? 'REFUNDED' : 'VOIDED';
      return { type: 'PaymentRefunded', refundedCents: refunded, entryId: refunded ? 'e2' : null };
    };
    const deliver = (queue: SagaCommand[], handle: (c: SagaCommand) => SagaInput | null, replies: SagaInput[]) => {
      const c = queue.shift()!;
      if (seen.has(c.messageId)) return; // the inbox drops a repeat of a message it handled
      seen.add(c.messageId);
      const reply = handle(c);
      if (reply) replies.push(reply);
    };
    const receive = (queue: SagaInput[]) => {
      const reply = queue.shift()!;
      if (chance(0.15)) queue.push(reply); // delivered again later (at least once)
      route(s.on(reply));
    };
    // plain checks (jest's expect on every step would dominate the run time); a failure names the seed and the state
    const violated = (what: string) => {
      throw new Error(
        `seed ${seed}: ${what} (reservation ${reservation}, payment ${payment}, order ${JSON.stringify(s.order)}, events ${s.events.join(', ')})`,
      );
    };
    const checkInvariants = () => {
      const { status, saga } = s.order;
      if (
        status === 'CANCELLED' &&
        saga.step === 'DONE' &&
        (reservation === 'RESERVED' || reservation === 'COMMITTED' || payment === 'CAPTURED')
      ) {
        violated('a CANCELLED order holds stock or money');
      }
      if (status === 'CONFIRMED' && saga.step === 'DONE' && (reservation !== 'COMMITTED' || payment !== 'CAPTURED')) {
        violated('a CONFIRMED order does not hold exactly its captured payment and committed stock');
      }
      const count = (name: string) => s.events.filter((e) => e === name).length;
      if (count('OrderCancelled') > 1 || count('OrderConfirmed') > 1) violated('an outcome was published twice');
      if (status === 'CANCELLED' && s.events.at(-1) !== 'OrderCancelled') violated('a CANCELLED order did not publish OrderCancelled last');
      if (errors.length > 0) violated(`a command was refused: ${errors.join('; ')}`);
    };

    route(s.last);
    for (let step = 0; step < 5_000; step++) {
      const actions: (() => void)[] = [];
      if (toInventory.length) actions.push(() => deliver(toInventory, inventory, fromInventory));
      if (toBilling.length) actions.push(() => deliver(toBilling, billing, fromBilling));
      if (fromInventory.length) actions.push(() => receive(fromInventory));
      if (fromBilling.length) actions.push(() => receive(fromBilling));
      if (deadlines.length && chance(impatience)) {
        actions.push(() => {
          const i = Math.floor(random() * deadlines.length);
          const [deadline] = deadlines.splice(i, 1);
          route(s.on(deadline));
        });
      }
      if (cancels > 0 && chance(0.1)) actions.push(() => (cancels--, route(s.on({ type: 'CancelRequested' }))));
      if (actions.length === 0) {
        if (deadlines.length === 0) break;
        const deadline = deadlines.shift()!;
        route(s.on(deadline));
      } else {
        actions[Math.floor(random() * actions.length)]();
      }
      checkInvariants();
    }
    return { s, reservation, payment, inStock, canPay };
  }

  it('holds for 1,000 random runs; each ends CONFIRMED or CANCELLED with nothing outstanding', () => {
    const outcomes = new Map<string, number>();
    for (let seed = 1; seed <= 1_000; seed++) {
      const { s } = simulate(seed);
      expect({ seed, status: s.order.status === 'PENDING' ? 'PENDING' : 'ended', step: s.order.saga.step }).toEqual({
        seed,
        status: 'ended',
        step: 'DONE',
      });
      const key = `${s.order.status} ${s.order.reason ?? ''}`.trim();
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    // every ending was reached, so the runs exercised every path
    expect([...outcomes.keys()].sort()).toEqual(
      ['CANCELLED CUSTOMER_REQUEST', 'CANCELLED OUT_OF_STOCK', 'CANCELLED PAYMENT_DECLINED', 'CANCELLED TIMED_OUT', 'CONFIRMED'].sort(),
    );
  });

  it('keeps one message id per command across every re-send', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const { s } = simulate(seed);
      const idsByName = new Map<SagaCommandName, Set<string>>();
      for (const c of s.sent) idsByName.set(c.name, (idsByName.get(c.name) ?? new Set()).add(c.messageId));
      for (const ids of idsByName.values()) expect(ids.size).toBe(1);
    }
  });
});
