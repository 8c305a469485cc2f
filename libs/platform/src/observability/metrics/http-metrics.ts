import type { NextFunction, Request, Response } from 'express';
import { routeOf } from '../tracing/request-span';
import type { PlatformMetrics } from './platform-metrics';

/** Express middleware: every request's duration, by method, route template and status code (the scrape itself excepted). */
export function httpMetrics(metrics: PlatformMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.path === '/metrics') return next();
    const started = performance.now();
    res.once('finish', () => {
      metrics.httpDuration.observe(
        { method: req.method, route: routeOf(req), status: String(res.statusCode) },
        (performance.now() - started) / 1000,
      );
    });
    next();
  };
}
