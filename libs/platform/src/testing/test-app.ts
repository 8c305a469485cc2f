import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { configureHttp } from '../http/configure-http';
import { PlatformModule } from '../platform.module';
import { createTestDatabase, type TestDatabase } from './test-database';

export interface TestApp {
  app: INestApplication;
  db: TestDatabase;
  close(): Promise<void>;
}

/** Boots the given modules alone on the platform, against a fresh database, ready for supertest. */
export async function createTestApp(imports: NonNullable<ModuleMetadata['imports']>, db?: TestDatabase): Promise<TestApp> {
  const database = db ?? (await createTestDatabase());
  const moduleRef = await Test.createTestingModule({
    imports: [PlatformModule.forRoot({ database: database.settings }), ...imports],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  configureHttp(app);
  await app.init();
  return {
    app,
    db: database,
    close: async () => {
      await app.close();
      if (!db) await database.drop();
    },
  };
}
