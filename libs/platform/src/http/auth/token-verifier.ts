import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { Problem } from '../problem';
import type { Principal } from './principal';

/** How bearer tokens are verified (AUTH_* settings). Exactly one of `jwtSecret` and `jwksUrl`. */
export interface JwtSettings {
  /** HS256/384/512 shared secret. */
  jwtSecret?: string;
  /** The identity provider's JSON Web Key Set (asymmetric algorithms only). */
  jwksUrl?: string;
  /** Required `iss`; unset: any. */
  issuer?: string;
  /** Required `aud`. */
  audience: string;
  /** Allowed clock skew for `exp`/`nbf`, in seconds. */
  clockToleranceS: number;
}

export type TokenVerifier = (token: string) => Promise<Principal>;

const SYMMETRIC = ['HS256', 'HS384', 'HS512'];
// Never 'none', and never a symmetric algorithm with a public key set (the key-confusion attack).
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** Verifies a JWT with jose and turns its claims into a Principal; a bad token is a 401 problem saying what is wrong. */
export function jwtVerifier(settings: JwtSettings): TokenVerifier {
  const [key, algorithms]: [Uint8Array | JWTVerifyGetKey, string[]] = settings.jwtSecret
    ? [new TextEncoder().encode(settings.jwtSecret), SYMMETRIC]
    : [createRemoteJWKSet(new URL(settings.jwksUrl!)), ASYMMETRIC];
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key as Uint8Array, {
        algorithms,
        audience: settings.audience,
        ...(settings.issuer ? { issuer: settings.issuer } : {}),
        clockTolerance: settings.clockToleranceS,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (error) {
      throw rejected(error, settings);
    }
    return {
      id: `jwt:${payload.iss ?? ''}|${payload.sub}`,
      subject: payload.sub!,
      scopes: scopesOf(payload),
      via: 'token',
    };
  };
}

/** RFC 8693/9068 `scope` (space-separated), or the `scp` array some providers use. */
function scopesOf(payload: JWTPayload): string[] {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === 'string') return raw.split(' ').filter(Boolean);
  return Array.isArray(raw) ? raw.filter((s): s is string => typeof s === 'string') : [];
}

function rejected(error: unknown, settings: JwtSettings): Problem {
  if (error instanceof errors.JWKSTimeout || (settings.jwksUrl && !(error instanceof errors.JOSEError))) {
    return new Problem(
      503,
      'auth-unavailable',
      'Service unavailable',
      "The identity provider's keys (AUTH_JWKS_URL) could not be fetched, so no token can be verified now. Retry in a moment.",
    );
  }
  const why =
    error instanceof errors.JWTExpired
      ? 'the token has expired: get a new one'
      : error instanceof errors.JWTClaimValidationFailed
        ? claimFailure(error, settings)
        : error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey
          ? "the token's signature does not verify with this server's keys"
          : error instanceof errors.JOSEAlgNotAllowed
            ? `the token is signed with an algorithm this server does not accept (${(settings.jwtSecret ? SYMMETRIC : ASYMMETRIC).join(', ')})`
            : 'the token is not a well-formed JWT';
  return Problem.unauthorized(
    'invalid-token',
    `The bearer token was refused: ${why}.`,
    `error="invalid_token", error_description="${why}"`,
  );
}

function claimFailure(error: errors.JWTClaimValidationFailed, settings: JwtSettings): string {
  switch (error.claim) {
    case 'aud':
      return `it is not meant for this API (its 'aud' must be '${settings.audience}')`;
    case 'iss':
      return `it was not issued by '${settings.issuer}'`;
    case 'nbf':
      return 'it is not valid yet';
    default:
      return `its '${error.claim}' claim is ${error.reason === 'missing' ? 'missing' : 'invalid'}`;
  }
}
