import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Problem } from '../problem';
import { AUTH_POLICY, type AuthPolicy, PRINCIPAL } from './auth.decorators';
import { ADMIN_SCOPE, ADMIN_TOKEN_PRINCIPAL, ANONYMOUS, type Principal, hasScope } from './principal';
import { type JwtSettings, type TokenVerifier, jwtVerifier } from './token-verifier';

/** PlatformOptions.auth: `off` (the default when unset) lets every caller act as an operator; `jwt` verifies tokens. */
export type AuthOptions = { mode: 'off' } | ({ mode: 'jwt' } & JwtSettings);

/** Injection token of the resolved authentication settings. */
export const AUTH_SETTINGS = Symbol('AUTH_SETTINGS');

export interface AuthSettings {
  mode: 'off' | 'jwt';
  verify?: TokenVerifier;
  /** ADMIN_TOKEN: a bearer credential with the admin scope, in every mode. */
  adminToken?: string;
}

export function authSettings(options: AuthOptions = { mode: 'off' }, adminToken?: string): AuthSettings {
  return { mode: options.mode, verify: options.mode === 'jwt' ? jwtVerifier(options) : undefined, adminToken };
}

const DEFAULT_POLICY: AuthPolicy = { public: false, scopes: [] };

/**
 * The authentication seam, global: every HTTP route needs a caller unless it is @Public(), and the scopes its
 * @Authenticated(...) lists. The caller is `Authorization: Bearer` ADMIN_TOKEN (scope admin), a JWT (AUTH_MODE=jwt), or
 * anonymous (AUTH_MODE=off). A fork with another scheme (sessions, mTLS, API keys) replaces `authenticate`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTH_SETTINGS) private readonly settings: AuthSettings,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true; // message handlers (BullMQ) are not called by users
    const policy =
      this.reflector.getAllAndOverride<AuthPolicy | undefined>(AUTH_POLICY, [context.getHandler(), context.getClass()]) ?? DEFAULT_POLICY;
    if (policy.public) return true;
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; [PRINCIPAL]?: Principal }>();
    const principal = await this.authenticate(request.headers.authorization);
    const missing = policy.scopes.filter((scope) => !hasScope(principal, scope));
    if (missing.length > 0) throw this.insufficient(principal, missing);
    request[PRINCIPAL] = principal;
    return true;
  }

  private async authenticate(header: string | undefined): Promise<Principal> {
    const token = header === undefined ? undefined : /^Bearer +([\x21-\x7e]+) *$/i.exec(header)?.[1];
    if (header !== undefined && token === undefined) {
      throw Problem.unauthorized(
        'invalid-credentials',
        'Send the credentials as `Authorization: Bearer <token>` (another scheme, or no token, was sent).',
        'error="invalid_request", error_description="use the Bearer scheme"',
      );
    }
    if (token !== undefined && this.settings.adminToken && sameSecret(token, this.settings.adminToken)) return ADMIN_TOKEN_PRINCIPAL;
    if (this.settings.mode === 'off') return ANONYMOUS;
    if (token === undefined)
      throw Problem.unauthorized('unauthorized', 'This endpoint needs a token: send `Authorization: Bearer <token>`.');
    return this.settings.verify!(token);
  }

  private insufficient(principal: Principal, missing: string[]): Problem {
    if (missing.includes(ADMIN_SCOPE) && !this.settings.adminToken && principal.via === 'anonymous') {
      return new Problem(
        403,
        'admin-disabled',
        'Forbidden',
        'The admin endpoints are disabled because no ADMIN_TOKEN is configured. Set ADMIN_TOKEN (at least 16 characters) and restart.',
      );
    }
    if (principal.via === 'anonymous') {
      return Problem.unauthorized('unauthorized', 'This endpoint needs the admin scope: send `Authorization: Bearer <ADMIN_TOKEN>`.');
    }
    return new Problem(
      403,
      'insufficient-scope',
      'Forbidden',
      `This endpoint needs the scope${missing.length > 1 ? 's' : ''} ${missing.map((s) => `'${s}'`).join(', ')}, which the token does not have.`,
      {},
      { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${missing.join(' ')}"` },
    );
  }
}

/** Compares hashes, so the time taken says nothing about either value or its length. */
function sameSecret(presented: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
