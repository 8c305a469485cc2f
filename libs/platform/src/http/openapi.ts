import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiParam, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';

/** The OpenAPI (JSON Schema) form of a zod schema, so docs and validation never disagree. */
export function openApiSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return json;
}

/** Documents a JSON body with the same zod schema that validates it. */
export const ApiJsonBody = (schema: z.ZodType) => ApiBody({ schema: openApiSchema(schema) });

/** Documents a path parameter with the same zod schema that validates it. */
export const ApiPathParam = (name: string, schema: z.ZodType) => ApiParam({ name, schema: openApiSchema(schema) });

/** Documents the required Idempotency-Key header. */
export const ApiIdempotencyKey = () =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: true,
    description: 'A unique value per logical request (e.g. a UUID). Repeating it returns the first response.',
  });

/** Documents a response by status with an optional zod schema, plus the problem+json errors listed. */
export const ApiResult = (status: number, description: string, schema?: z.ZodType, problems: number[] = []) =>
  applyDecorators(
    ApiResponse({ status, description, ...(schema ? { schema: openApiSchema(schema) } : {}) }),
    ...problems.map((s) => ApiResponse({ status: s, description: 'problem+json (RFC 9457)' })),
  );
