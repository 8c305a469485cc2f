import { applyDecorators, createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiResponse, ApiSecurity } from '@nestjs/swagger';
import { ADMIN_SCOPE, type Principal } from './principal';

/** What a route needs. Routes without a decorator need an authenticated caller (any scope). */
export type AuthPolicy = { public: true } | { public: false; scopes: readonly string[] };

export const AUTH_POLICY = 'monolith-first:auth-policy';
/** Where the AuthGuard leaves the caller on the request. */
export const PRINCIPAL = Symbol('monolith-first:principal');

/** OpenAPI security schemes (added to the document by serveOpenApi). */
export const BEARER_SCHEME = 'bearer';
export const ADMIN_TOKEN_SCHEME = 'adminToken';

/** Anybody may call it, without credentials (health, the catalogue). OpenAPI: `security: [{}]`, anonymous access. */
export const Public = () => applyDecorators(SetMetadata(AUTH_POLICY, { public: true } satisfies AuthPolicy), ApiSecurity({}));

/**
 * The caller must be authenticated and hold every scope listed (none: any authenticated caller). 401 without valid
 * credentials, 403 without the scopes. Documents the security requirement and both problems in OpenAPI.
 */
export const Authenticated = (...scopes: string[]) =>
  applyDecorators(
    SetMetadata(AUTH_POLICY, { public: false, scopes } satisfies AuthPolicy),
    ...(scopes.includes(ADMIN_SCOPE) ? [ApiSecurity(ADMIN_TOKEN_SCHEME)] : []),
    ApiSecurity(BEARER_SCHEME, scopes),
    ApiResponse({ status: 401, description: 'No valid credentials: send `Authorization: Bearer <token>`' }),
    ApiResponse({
      status: 403,
      description: scopes.length ? `The token lacks a scope: ${scopes.join(', ')}` : 'Not allowed for this caller',
    }),
  );

/** `@CurrentPrincipal() principal: Principal`: the caller, as authenticated by the AuthGuard. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<{ [PRINCIPAL]?: Principal }>()[PRINCIPAL];
  if (!principal) throw new Error('@CurrentPrincipal() on a @Public() route: there is no principal. Use @Authenticated() on the route.');
  return principal;
});
