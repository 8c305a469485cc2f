import { scrubSecrets } from './redaction';

describe('secrets in log messages', () => {
  it('hides the password of connection URLs and bearer tokens, and keeps the rest', () => {
    expect(scrubSecrets('Waiting for PostgreSQL at postgres://orders_module:s3cr3t@db:5432/app: ECONNREFUSED')).toBe(
      'Waiting for PostgreSQL at postgres://orders_module:***@db:5432/app: ECONNREFUSED',
    );
    expect(scrubSecrets('redis://:hunter2@redis:6379 and postgres://postgres@127.0.0.1/x')).toBe(
      'redis://:***@redis:6379 and postgres://postgres@127.0.0.1/x',
    );
    expect(scrubSecrets('sent Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig')).toBe('sent Authorization: Bearer ***');
  });
});
