import { PlaceOrderSchema } from './orders.schemas';

const valid = { customerId: 'cust_1.a-b', lines: [{ sku: 'MUG-1', quantity: 2 }] };
const issues = (body: unknown) => {
  const r = PlaceOrderSchema.safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
};

describe('POST /orders body', () => {
  it('accepts a customer and 1–50 lines', () => {
    expect(PlaceOrderSchema.parse(valid)).toEqual(valid);
    expect(issues({ ...valid, lines: Array.from({ length: 50 }, (_, i) => ({ sku: `S${i}`, quantity: 1_000_000 })) })).toEqual([]);
  });

  it.each([
    ['no lines', { ...valid, lines: [] }, 'lines'],
    ['51 lines', { ...valid, lines: Array.from({ length: 51 }, () => ({ sku: 'A', quantity: 1 })) }, 'lines'],
    ['a zero quantity', { ...valid, lines: [{ sku: 'A', quantity: 0 }] }, 'lines.0.quantity'],
    ['a fractional quantity', { ...valid, lines: [{ sku: 'A', quantity: 1.5 }] }, 'lines.0.quantity'],
    ['a quantity over 1,000,000', { ...valid, lines: [{ sku: 'A', quantity: 1_000_001 }] }, 'lines.0.quantity'],
    ['a string quantity', { ...valid, lines: [{ sku: 'A', quantity: '2' }] }, 'lines.0.quantity'],
    ['a bad sku', { ...valid, lines: [{ sku: 'has space', quantity: 1 }] }, 'lines.0.sku'],
    ['a price (inventory sets prices)', { ...valid, lines: [{ sku: 'A', quantity: 1, unitPriceCents: 1 }] }, 'lines.0'],
    ['an empty customer', { ...valid, customerId: '' }, 'customerId'],
    ['a 65-character customer', { ...valid, customerId: 'c'.repeat(65) }, 'customerId'],
    ['a customer with a slash', { ...valid, customerId: 'a/b' }, 'customerId'],
    ['an unknown field', { ...valid, status: 'CONFIRMED' }, ''],
    ['a missing customer', { lines: valid.lines }, 'customerId'],
  ])('refuses %s', (_label, body, path) => {
    expect(issues(body)).toContain(path);
  });
});
