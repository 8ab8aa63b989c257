/**
 * Side by side, in one process: access-token sign and verify of @switchboard/auth against bare
 * jose with the same algorithm and claims (our overhead), and against an @nestjs/jwt-style
 * HS256 setup (jsonwebtoken with one shared secret, what @nestjs/jwt wraps). 50 in flight.
 *
 * Run: npm run bench -w @switchboard/auth
 */
import os from 'node:os';
// By package name: the built dist/ that users install.
import { createAccessTokenService, createAuth, generateSigningKey, loadKeySet } from '@switchboard/auth';
import { compare, type Measurement } from '@switchboard/bench';
import { benchTelemetry } from '@switchboard/bench/telemetry';
import { jwtVerify, SignJWT } from 'jose';
import jsonwebtoken from 'jsonwebtoken';

const CONCURRENCY = 50;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1_500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const settings = { issuer: 'https://auth.example', audience: 'chat-api' };

const key = await generateSigningKey({ alg: 'EdDSA' });
const keys = await loadKeySet([key]);
// The first sight of a token (the cache off) is the like-for-like comparison with jose; a
// client's later requests with the same token are answered by the verified-token cache.
const ours = createAccessTokenService(keys, { ...settings, cacheSize: 0 });
const oursCached = createAccessTokenService(keys, settings);
// The same check through `createAuth`: the path the yoga plugin takes. With BENCH_TELEMETRY=on
// (npm run bench:ab -- auth --telemetry) it is traced, a span per check (`traceVerify`), so its
// row shows what tracing every verification costs; off, it is the token service's own function.
const telemetry = await benchTelemetry();
const auth = await createAuth({
  ...settings,
  keys: [key],
  accessTokenCacheSize: 0,
  telemetry: telemetry.option,
  traceVerify: telemetry.option,
});
const subject = { userId: 'user-42', sessionId: 'session-7', claims: { role: 'member' } };
const secret = 'a-32-byte-or-longer-shared-secret-for-hs256!';

const joseSign = () =>
  new SignJWT({ role: 'member', sid: 'session-7' })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setSubject('user-42')
    .setIssuedAt()
    .setExpirationTime('15m')
    .setJti('j')
    .sign(keys.signing.privateKey);
const hs256Sign = () =>
  Promise.resolve(
    jsonwebtoken.sign({ role: 'member', sid: 'session-7' }, secret, {
      algorithm: 'HS256',
      expiresIn: '15m',
      issuer: settings.issuer,
      audience: settings.audience,
      subject: 'user-42',
    }),
  );

const { token } = await ours.sign(subject);
const hs256Token = await hs256Sign();
const verification = keys.signing.publicKey;

const OURS = '@switchboard/auth (EdDSA)';
const CACHED = '@switchboard/auth, a token seen before (verified-token cache)';
const FACADE = "@switchboard/auth, createAuth's verifyAccessToken";
const rows: string[] = [];
addRows(
  'sign an access token',
  await compare(
    {
      '@switchboard/auth (EdDSA)': () => ours.sign(subject),
      'bare jose (EdDSA)': joseSign,
      'jsonwebtoken HS256 (@nestjs/jwt style)': hs256Sign,
    },
    { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS },
  ),
);
addRows(
  'verify an access token',
  await compare(
    {
      '@switchboard/auth (EdDSA)': () => ours.verify(token),
      [CACHED]: () => oursCached.verify(token),
      [FACADE]: () => auth.verifyAccessToken(token),
      'bare jose (EdDSA)': () =>
        jwtVerify(token, verification, { algorithms: ['EdDSA'], issuer: settings.issuer, audience: settings.audience }),
      'jsonwebtoken HS256 (@nestjs/jwt style)': () =>
        Promise.resolve(
          jsonwebtoken.verify(hs256Token, secret, {
            algorithms: ['HS256'],
            issuer: settings.issuer,
            audience: settings.audience,
          }),
        ),
    },
    { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS },
  ),
);

process.stdout.write(
  `${[
    `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${CONCURRENCY} in flight, median of ${ROUNDS} interleaved ${DURATION_MS / 1000} s rounds${telemetry.note}`,
    '',
    '| operation | implementation | ops/s | p50 ms | p99 ms | ours ÷ this |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n')}\n`,
);

await auth.close();

function addRows(operation: string, results: Record<string, Measurement>): void {
  const oursResult = results[OURS];
  if (!oursResult) return;
  for (const [name, m] of Object.entries(results)) {
    // The cached row is compared with bare jose: what a repeated request costs against a check.
    const jose = results['bare jose (EdDSA)'];
    const ratio =
      name === OURS
        ? ''
        : name === CACHED && jose
          ? `${(m.opsPerSec / jose.opsPerSec).toFixed(0)}× jose`
          : `${(oursResult.opsPerSec / m.opsPerSec).toFixed(2)}×`;
    const label = name === OURS ? `**${name}**` : name;
    rows.push(
      `| ${operation} | ${label} | ${Math.round(m.opsPerSec).toLocaleString('en-US')} | ${m.p50Ms.toFixed(3)} | ${m.p99Ms.toFixed(3)} | ${ratio} |`,
    );
  }
}
