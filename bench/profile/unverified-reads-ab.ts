/**
 * In-process A/B of what the strategy's key provider reads from a first-seen token before any key
 * lookup (the JWS header, the issuer by `iss`; before 2ec73e0 also the header again for the cache
 * entry's `kid`), between this checkout and another (`--old <checkout>`), interleaved, 400 rounds
 * of 20,000 reads of distinct tokens; CPU from `process.cpuUsage()`.
 * Run: `npx tsx bench/profile/unverified-reads-ab.ts --old ../old`.
 */
import * as path from 'node:path';
import { parsePlatformConfig } from '@platform/config';
import { PlatformMetrics } from '@platform/observability';
import { AUDIENCE, makeFirstSeenTokens, startIssuer } from '../lib/issuer';

async function main(): Promise<void> {
  const issuer = await startIssuer();
  const config = parsePlatformConfig({ NODE_ENV: 'test', OIDC_ISSUER: issuer.url, OIDC_AUDIENCE: AUDIENCE });
  const at = process.argv.indexOf('--old');
  const old = path.resolve(at === -1 ? '../old' : process.argv[at + 1]);
  const variants = [old, path.resolve(__dirname, '../..')].map((root, i) => {
    const src = `${root}/libs/auth/src`;
    /* eslint-disable @typescript-eslint/no-require-imports -- two copies of one module, chosen at run time */
    const { IssuerRegistry } = require(
      `${src}/issuer-registry`,
    ) as typeof import('../../libs/auth/src/issuer-registry');
    const { decodeJwsHeader } = require(`${src}/jws-header`) as typeof import('../../libs/auth/src/jws-header');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const registry = new IssuerRegistry(config, new PlatformMetrics());
    return { name: i === 0 ? 'old' : 'new', registry, decodeJwsHeader, samples: [] as number[] };
  });
  const tokens = await makeFirstSeenTokens(issuer, 'stage', 4000);
  const rounds = 400;
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      const start = process.cpuUsage();
      for (let k = 0; k < 5; k++)
        for (const t of tokens) {
          // The key provider's reads of a first-seen token (old: then validate's kid, a memo hit).
          const header = v.decodeJwsHeader(t);
          sink += v.registry.forToken(t).trusted.config.algorithms.includes(header.alg) ? 1 : 0;
          if (v.name === 'old') sink += v.decodeJwsHeader(t).kid === undefined ? 0 : 1;
        }
      const used = process.cpuUsage(start);
      v.samples.push((used.user + used.system) / (5 * tokens.length));
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)];
  for (const v of variants)
    console.log(
      `${v.name}: ${med(v.samples).toFixed(2)} µs (p25 ${q(v.samples, 0.25).toFixed(2)}, p75 ${q(v.samples, 0.75).toFixed(2)})`,
    );
  const ratios = variants[1].samples.map((s, i) => s / variants[0].samples[i]);
  console.log(
    `new/old: ${med(ratios).toFixed(3)} (p25 ${q(ratios, 0.25).toFixed(3)}, p75 ${q(ratios, 0.75).toFixed(3)}), ${rounds} rounds x ${5 * tokens.length}`,
    sink > 0,
  );
  issuer.server.close();
}
void main();
