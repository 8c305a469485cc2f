import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';

/** HTTP settings every host shares. Express's JSON parser already limits bodies to 100 kB and accepts only objects/arrays. */
export function configureHttp(app: INestApplication): void {
  (app as NestExpressApplication).disable('x-powered-by');
}
