import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import { answerMalformedRequests, requireJsonBodies } from './malformed-requests';

/**
 * HTTP settings every host shares; call it before init(). Express's JSON parser limits bodies to 100 kB (413) and
 * accepts only objects/arrays; other media types are refused with 415; requests Node's parser refuses (400, 417, 431)
 * get problem+json too.
 */
export function configureHttp(app: INestApplication): void {
  const express = app as NestExpressApplication;
  express.disable('x-powered-by');
  express.use(requireJsonBodies);
  answerMalformedRequests(app.getHttpServer() as Server);
}
