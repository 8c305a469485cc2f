import { Problem } from '../problem';

/** The scope of the admin endpoints (dead letters, outbox stats, ledger verification). */
export const ADMIN_SCOPE = 'admin';

/** Who is calling: set by the AuthGuard on every request it lets through (read it with `@CurrentPrincipal()`). */
export interface Principal {
  /**
   * Stable and unique per caller, across requests and restarts: `jwt:<iss>|<sub>` (`jwt:|<sub>` without AUTH_ISSUER),
   * `admin-token`, or `anonymous` (AUTH_MODE=off). Use it to keep per-caller state apart, e.g. Idempotency-Keys.
   */
  readonly id: string;
  /** The token's `sub`: for a customer, their customerId. */
  readonly subject: string;
  /** The token's `scope` (space-separated) or `scp` claim; `admin` for ADMIN_TOKEN. */
  readonly scopes: readonly string[];
  /** `token`: a verified JWT. `admin-token`: ADMIN_TOKEN. `anonymous`: AUTH_MODE=off, nothing was checked. */
  readonly via: 'token' | 'admin-token' | 'anonymous';
}

/** AUTH_MODE=off: nobody is checked, so everybody may do what an operator may, except the admin scope (ADMIN_TOKEN only). */
export const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous', subject: 'anonymous', scopes: [], via: 'anonymous' });

export const ADMIN_TOKEN_PRINCIPAL: Principal = Object.freeze({
  id: 'admin-token',
  subject: 'admin',
  scopes: [ADMIN_SCOPE],
  via: 'admin-token',
});

export function hasScope(principal: Principal, scope: string): boolean {
  return principal.scopes.includes(scope) || (principal.via === 'anonymous' && scope !== ADMIN_SCOPE);
}

/** A customer acts on their own things (`sub` = customerId); holders of `operatorScope` act on anybody's. */
export function mayActFor(principal: Principal, customerId: string, operatorScope: string): boolean {
  return (principal.via === 'token' && principal.subject === customerId) || hasScope(principal, operatorScope);
}

/** 403 unless `principal` may act for `customerId` (see mayActFor). `what` names the resource, e.g. "This order". */
export function assertMayActFor(principal: Principal, customerId: string, operatorScope: string, what: string): void {
  if (mayActFor(principal, customerId, operatorScope)) return;
  throw new Problem(
    403,
    'not-owner',
    'Forbidden',
    `${what} is not yours: a token acts only for the customer named in its 'sub' claim, unless it has the scope '${operatorScope}'.`,
  );
}
