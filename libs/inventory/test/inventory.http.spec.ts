import { createTestApp, type TestApp } from '@app/platform';
import request from 'supertest';
import { InventoryModule } from '../src/inventory.module';

describe('inventory over HTTP (module booted alone)', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());

  beforeAll(async () => {
    t = await createTestApp([InventoryModule]);
  });
  afterAll(() => t.close());

  it('creates, reads and restocks an item', async () => {
    const created = await http().post('/inventory/items').send({ sku: 'MUG-1', name: 'Mug', priceCents: 1299, quantity: 10 }).expect(201);
    expect(created.body).toEqual({ sku: 'MUG-1', name: 'Mug', priceCents: 1299, available: 10, reserved: 0 });
    await http()
      .post('/inventory/items/MUG-1/restock')
      .send({ quantity: 5 })
      .expect(200, { sku: 'MUG-1', name: 'Mug', priceCents: 1299, available: 15, reserved: 0 });
    await http().get('/inventory/items/MUG-1').expect(200, { sku: 'MUG-1', name: 'Mug', priceCents: 1299, available: 15, reserved: 0 });
  });

  it('refuses a duplicate sku with 409 and leaves the first item as it was', async () => {
    await http().post('/inventory/items').send({ sku: 'DUP', name: 'First', priceCents: 100, quantity: 1 }).expect(201);
    const res = await http().post('/inventory/items').send({ sku: 'DUP', name: 'Second', priceCents: 999, quantity: 50 }).expect(409);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 409, title: 'Conflict', detail: expect.stringContaining("'DUP' already exists") });
    await http().get('/inventory/items/DUP').expect(200, { sku: 'DUP', name: 'First', priceCents: 100, available: 1, reserved: 0 });
  });

  it('answers 404 problem for an unknown sku, on read and on restock', async () => {
    const res = await http().get('/inventory/items/NOPE').expect(404);
    expect(res.body).toMatchObject({ type: expect.stringMatching(/unknown-sku$/), status: 404, instance: '/inventory/items/NOPE' });
    await http().post('/inventory/items/NOPE/restock').send({ quantity: 1 }).expect(404);
  });

  it.each([
    ['a negative quantity', { sku: 'B1', name: 'x', priceCents: 1, quantity: -1 }, 'quantity'],
    ['a fractional price', { sku: 'B2', name: 'x', priceCents: 1.5, quantity: 1 }, 'priceCents'],
    ['a huge price', { sku: 'B3', name: 'x', priceCents: 1e15, quantity: 1 }, 'priceCents'],
    ['a string quantity', { sku: 'B4', name: 'x', priceCents: 1, quantity: '3' }, 'quantity'],
    ['an over-long name', { sku: 'B5', name: 'x'.repeat(201), priceCents: 1, quantity: 1 }, 'name'],
    ['a bad sku', { sku: 'has space', name: 'x', priceCents: 1, quantity: 1 }, 'sku'],
    ['an unknown field', { sku: 'B6', name: 'x', priceCents: 1, quantity: 1, admin: true }, ''],
    ['a missing field', { sku: 'B7', name: 'x', quantity: 1 }, 'priceCents'],
  ])('refuses %s with a 400 problem naming the field, and writes nothing', async (_label, body, field) => {
    const res = await http().post('/inventory/items').send(body).expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.type).toMatch(/validation-failed$/);
    if (field) expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field, in: 'body' })]));
    await http()
      .get(`/inventory/items/${encodeURIComponent(body.sku)}`)
      .expect((r) => expect([400, 404]).toContain(r.status));
  });

  it('refuses malformed JSON with a 400 problem', async () => {
    const res = await http().post('/inventory/items').set('content-type', 'application/json').send('{"sku": "X",').expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.detail).toMatch(/not valid JSON/);
  });

  it('refuses a body over 100 kB with a 413 problem', async () => {
    const res = await http()
      .post('/inventory/items')
      .send({ sku: 'BIG', name: 'x'.repeat(200_000), priceCents: 1, quantity: 1 })
      .expect(413);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.detail).toMatch(/too large/);
    await http().get('/inventory/items/BIG').expect(404);
  });

  it('refuses a restock of zero, negative or huge quantities', async () => {
    await http().post('/inventory/items').send({ sku: 'R1', name: 'x', priceCents: 1, quantity: 0 }).expect(201);
    for (const quantity of [0, -3, 2.5, 10_000_000]) await http().post('/inventory/items/R1/restock').send({ quantity }).expect(400);
    await http().get('/inventory/items/R1').expect(200, { sku: 'R1', name: 'x', priceCents: 1, available: 0, reserved: 0 });
  });
});
