import { Body, createParamDecorator, type ExecutionContext, Param, type PipeTransform, Query } from '@nestjs/common';
import { z } from 'zod';
import { Problem } from './problem';

/** Validates (and parses) a value with a zod schema; failures become a 400 problem listing each bad field. */
export class SchemaPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly where: 'body' | 'path' | 'query' | 'header',
    /** Name of the single parameter or header being validated, used as the field name in errors. */
    private readonly name?: string,
  ) {}

  transform(value: unknown): z.infer<S> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    const errors = result.error.issues.map((issue) => ({
      in: this.where,
      field: [this.name, ...issue.path.map(String)].filter(Boolean).join('.') || undefined,
      message: issue.message,
    }));
    const list = errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
    throw Problem.badRequest('validation-failed', `The request ${this.where} is invalid. ${list}.`, { errors });
  }
}

/** `@ValidBody(schema)`: the body, validated. A missing or non-object body fails too. */
export const ValidBody = <S extends z.ZodType>(schema: S) => Body(new SchemaPipe(schema, 'body'));
/** `@ValidParam('sku', schema)`: one path parameter, validated. */
export const ValidParam = <S extends z.ZodType>(name: string, schema: S) => Param(name, new SchemaPipe(schema, 'path', name));

/** `@ValidQuery(schema)`: the whole query string as an object, validated (strict schemas refuse unknown parameters). */
export const ValidQuery = <S extends z.ZodType>(schema: S) => Query(new SchemaPipe(schema, 'query'));
/** `@ValidHeader('idempotency-key', schema)`: one header, validated. */
export const ValidHeader = <S extends z.ZodType>(name: string, schema: S) =>
  createParamDecorator((header: string, ctx: ExecutionContext) => {
    const value = ctx.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers[header.toLowerCase()];
    return new SchemaPipe(schema, 'header', header).transform(value);
  })(name);

/**
 * Text PostgreSQL stores as sent: no NUL (a text column refuses it: 500 'invalid byte sequence') and no unpaired
 * surrogate (it would be replaced silently). The base of every free-text input; identifiers whitelist their
 * characters with a pattern on top of it.
 */
export const TextSchema = z
  .string({ error: 'must be a string' })
  .refine((s) => !/[\0\p{Cs}]/u.test(s), { error: 'must not contain NUL characters or unpaired surrogates', abort: true });

/** Integer money in cents: positive, and small enough that sums stay exact in JavaScript and bigint columns. */
export const CentsSchema = z
  .number({ error: 'must be a whole number of cents' })
  .int('must be a whole number of cents')
  .positive('must be greater than zero')
  .max(100_000_000_00, 'must be at most 10,000,000,000 cents');

/** A quantity of items: a positive whole number with a sane ceiling. */
export const QuantitySchema = z
  .number({ error: 'must be a whole number' })
  .int('must be a whole number')
  .positive('must be greater than zero')
  .max(1_000_000, 'must be at most 1,000,000');
