import { createTestDatabase, type TestDatabase } from '@app/platform';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from '../src/app.module';

/**
 * Registers the spec's beforeAll/afterAll: the whole AppModule (every module, migrated) on a fresh test database,
 * as an application context without HTTP, closed and dropped after the spec. `app` is set once beforeAll has run.
 */
export function appContext(): { readonly app: INestApplicationContext; readonly db: TestDatabase } {
  const context = {} as { app: INestApplicationContext; db: TestDatabase };
  beforeAll(async () => {
    context.db = await createTestDatabase();
    context.app = await (
      await Test.createTestingModule({ imports: [AppModule.forRoot({ database: context.db.settings })] }).compile()
    ).init();
  });
  afterAll(async () => {
    await context.app?.close();
    await context.db?.drop();
  });
  return context;
}
