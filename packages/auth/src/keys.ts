import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK } from 'jose';
import { AuthError } from './errors.ts';

// Our declarations name no jose type: the CJS build bundles jose, and a CommonJS declaration
// that imports the ESM-only jose fails a strict node16 typecheck (TS1479). Nor an import of
// Node's types: the runtime's CryptoKey where the project has one (@types/node, DOM), else its shape.
type CryptoKey = typeof globalThis extends {
  crypto: { subtle: { generateKey(...args: never[]): Promise<infer Key> } };
}
  ? Extract<Key, { type: string }>
  : {
      readonly algorithm: { name: string };
      readonly extractable: boolean;
      readonly type: string;
      readonly usages: string[];
    };

/** A JSON Web Key (RFC 7517): the members EC and OKP signing keys use, and any other. */
export interface Jwk {
  kty?: string;
  crv?: string;
  x?: string;
  y?: string;
  d?: string;
  kid?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  ext?: boolean;
  [member: string]: unknown;
}

/** Asymmetric only: a verifier never holds anything that can sign. */
export type SigningAlgorithm = 'EdDSA' | 'ES256';

export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['EdDSA', 'ES256'];

/** A private signing key as a JWK, with its key id and algorithm. */
export interface PrivateSigningJwk extends Jwk {
  kid: string;
  alg: SigningAlgorithm;
  d: string;
}

/** A public verification key, as published by `jwks()`. */
export interface PublicJwk extends Jwk {
  kid: string;
  alg: SigningAlgorithm;
  use: 'sig';
}

interface LoadedKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: PublicJwk;
}

/** The current signing key and every key that still verifies (previous ones, during rotation). */
export interface KeySet {
  readonly signing: LoadedKey;
  /** kid → key. */
  readonly verification: ReadonlyMap<string, LoadedKey>;
  readonly algorithms: SigningAlgorithm[];
  jwks(): { keys: PublicJwk[] };
}

/**
 * A fresh private signing key with a random `kid`, exportable so it can be stored (jose makes
 * non-extractable keys unless asked). For rotation: put the new key first, keep the old one
 * after it for at least one access-token lifetime, then drop it.
 */
export async function generateSigningKey(options: { alg?: SigningAlgorithm } = {}): Promise<PrivateSigningJwk> {
  const alg = options.alg ?? 'EdDSA';
  if (!SIGNING_ALGORITHMS.includes(alg))
    throw new AuthError('INVALID_KEY', `alg must be EdDSA or ES256, got ${String(alg)}`);
  const { privateKey } = await generateKeyPair(
    alg,
    alg === 'EdDSA' ? { extractable: true, crv: 'Ed25519' } : { extractable: true },
  );
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: randomBytes(12).toString('base64url'), alg, use: 'sig', d: jwk.d as string };
}

/** Imports private JWKs (first signs, all verify), checking each is a well-formed asymmetric key. */
export async function loadKeySet(jwks: readonly PrivateSigningJwk[]): Promise<KeySet> {
  if (!Array.isArray(jwks) || jwks.length === 0)
    throw new AuthError('INVALID_KEY', 'keys must be a non-empty array of private JWKs');
  const loaded: LoadedKey[] = [];
  const seen = new Set<string>();
  for (const [index, jwk] of jwks.entries()) {
    const where = `keys[${index}]`;
    if (!jwk || typeof jwk.kid !== 'string' || jwk.kid.length === 0)
      throw new AuthError('INVALID_KEY', `${where} needs a "kid"`);
    if (seen.has(jwk.kid)) throw new AuthError('INVALID_KEY', `${where}: kid "${jwk.kid}" appears twice`);
    seen.add(jwk.kid);
    if (!SIGNING_ALGORITHMS.includes(jwk.alg))
      throw new AuthError('INVALID_KEY', `${where}: alg must be EdDSA or ES256, got ${String(jwk.alg)}`);
    const shapeOk =
      jwk.alg === 'EdDSA' ? jwk.kty === 'OKP' && jwk.crv === 'Ed25519' : jwk.kty === 'EC' && jwk.crv === 'P-256';
    if (!shapeOk)
      throw new AuthError(
        'INVALID_KEY',
        `${where}: a ${jwk.alg} key must be ${jwk.alg === 'EdDSA' ? 'OKP/Ed25519' : 'EC/P-256'}`,
      );
    if (typeof jwk.d !== 'string') throw new AuthError('INVALID_KEY', `${where} is not a private key (no "d")`);
    const { d: _private, ...publicPart } = jwk;
    const publicJwk: PublicJwk = {
      kty: publicPart.kty,
      crv: publicPart.crv,
      x: publicPart.x,
      ...(publicPart.y === undefined ? {} : { y: publicPart.y }),
      kid: jwk.kid,
      alg: jwk.alg,
      use: 'sig',
    } as PublicJwk;
    try {
      const privateKey = (await importJWK(jwk, jwk.alg)) as CryptoKey;
      const publicKey = (await importJWK(publicJwk, jwk.alg)) as CryptoKey;
      loaded.push({ kid: jwk.kid, alg: jwk.alg, privateKey, publicKey, publicJwk });
    } catch (error) {
      throw new AuthError(
        'INVALID_KEY',
        `${where} could not be imported: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }
  const signing = loaded[0] as LoadedKey;
  const verification = new Map(loaded.map((key) => [key.kid, key]));
  const algorithms = [...new Set(loaded.map((key) => key.alg))];
  return { signing, verification, algorithms, jwks: () => ({ keys: loaded.map((key) => ({ ...key.publicJwk })) }) };
}
