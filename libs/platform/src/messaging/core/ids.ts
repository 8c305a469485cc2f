import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

// Random bytes drawn from the kernel 4 KiB at a time: an order needs a few dozen ids and span ids, and one system call
// each (what crypto.getRandomValues and randomBytes cost) showed up in the hot path's profile.
const pool = Buffer.alloc(4096);
let offset = pool.length;

function randomBytesFromPool(bytes: number): Buffer {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = pool.subarray(offset, offset + bytes);
  offset += bytes;
  return out;
}

/** A new UUIDv7 (time-ordered): the id of a message, an order, a ledger entry. */
export function newId(): string {
  return uuidv7({ random: randomBytesFromPool(16) });
}

/** `bytes` random bytes as lower-case hex, never all zeros (W3C trace ids and span ids must not be). */
export function randomHex(bytes: number): string {
  for (;;) {
    const hex = randomBytesFromPool(bytes).toString('hex');
    if (!/^0+$/.test(hex)) return hex;
  }
}
