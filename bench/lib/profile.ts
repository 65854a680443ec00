/** One node of a V8 `.cpuprofile` (the format `node --cpu-prof` writes). */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** A V8 CPU profile: a call tree, and one tree node per sample with the time since the previous sample. */
export interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds, V8's monotonic clock (CLOCK_MONOTONIC on Linux, as `process.hrtime`). */
  startTime: number;
  endTime: number;
  samples: number[];
  /** Microseconds between consecutive samples. */
  timeDeltas: number[];
}

/** Self time of one layer over the profiled window. */
export interface LayerCost {
  layer: string;
  /** Milliseconds of main-thread time in the window. */
  selfMs: number;
  /** Microseconds per answered request (selfMs / requests). */
  usPerRequest: number;
  /** Share of the main thread's busy time (idle excluded), 0-1. */
  share: number;
}

/** Packages grouped under one layer name; any other package is its own layer. */
const PACKAGE_LAYERS: Record<string, string> = {
  pg: 'pg',
  'pg-protocol': 'pg',
  'pg-pool': 'pg',
  'pg-types': 'pg',
  'postgres-array': 'pg',
  'postgres-date': 'pg',
  'postgres-interval': 'pg',
  'postgres-bytea': 'pg',
  fastify: 'fastify',
  'find-my-way': 'fastify',
  avvio: 'fastify',
  'fast-json-stringify': 'fastify',
  'fast-querystring': 'fastify',
  'fast-content-type-parse': 'fastify',
  'secure-json-parse': 'fastify',
  'light-my-request': 'fastify',
  '@fastify/cors': 'fastify',
  '@fastify/error': 'fastify',
  '@fastify/ajv-compiler': 'fastify',
  '@fastify/fast-json-stringify-compiler': 'fastify',
  '@fastify/static': 'fastify',
  '@fastify/middie': 'fastify',
  '@fastify/proxy-addr': 'fastify',
  'proxy-addr': 'fastify',
  rxjs: '@nestjs',
  'reflect-metadata': '@nestjs',
  '@nestjs/passport': 'passport',
  passport: 'passport',
  'passport-jwt': 'passport',
  'passport-strategy': 'passport',
  jsonwebtoken: 'jsonwebtoken',
  jws: 'jsonwebtoken',
  jwa: 'jsonwebtoken',
  pino: 'pino',
  'sonic-boom': 'pino',
  'pino-std-serializers': 'pino',
  'fast-redact': 'pino',
  '@pinojs/redact': 'pino',
  'quick-format-unescaped': 'pino',
  'thread-stream': 'pino',
  'nestjs-pino': 'pino',
  'pino-http': 'pino',
  'drizzle-orm': 'drizzle',
  'prom-client': 'prom-client',
  tdigest: 'prom-client',
  bintrees: 'prom-client',
  'class-validator': 'class-validator/transformer',
  'class-transformer': 'class-validator/transformer',
  '@electric-sql/pglite': 'pglite',
};

/**
 * The layer a frame belongs to, from its script URL: a package under `node_modules` (grouped by
 * {@link PACKAGE_LAYERS}), the repository's `libs/<name>` or `apps/<name>`, the root app (`src`),
 * `node internals` (`node:` URLs), or undefined for native code without a script (JSON, crypto,
 * socket writes), which {@link layerCosts} charges to its caller's layer.
 */
export function layerOf(functionName: string, url: string): string | undefined {
  if (functionName === '(garbage collector)') return 'GC (main thread)';
  if (functionName === '(program)') return 'V8/native (program)';
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(root)') return '(root)';
  if (!url) return undefined;
  if (url.startsWith('node:')) return 'node internals';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    const name = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
    return (
      PACKAGE_LAYERS[name] ??
      (name.startsWith('@nestjs/') ? '@nestjs' : name.startsWith('@opentelemetry/') ? '@opentelemetry' : name)
    );
  }
  const lib = /\/(libs|apps)\/([^/]+)\//.exec(url);
  if (lib) return `${lib[1]}/${lib[2]}`;
  if (/\/src\//.test(url)) return 'src (root app)';
  return 'other scripts';
}

/**
 * Main-thread self time per layer of the samples taken in [fromUs, toUs] (profile clock,
 * microseconds; the whole profile when omitted), per request. A sample's time is the interval to
 * the next sample (as Chrome DevTools counts it). Idle time is left out; native frames without a
 * script are charged to the nearest caller that has one.
 */
export function layerCosts(
  profile: CpuProfile,
  requests: number,
  fromUs = -Infinity,
  toUs = Infinity,
): { layers: LayerCost[]; busyMs: number; windowMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const layerCache = new Map<number, string>();
  const layerFor = (id: number): string => {
    const cached = layerCache.get(id);
    if (cached) return cached;
    const node = byId.get(id) as ProfileNode;
    let layer = layerOf(node.callFrame.functionName, node.callFrame.url);
    if (layer === undefined) {
      const up = parent.get(id);
      layer = up === undefined ? 'V8/native (program)' : layerFor(up);
      if (layer === '(root)') layer = 'V8/native (program)';
    }
    layerCache.set(id, layer);
    return layer;
  };
  const totals = new Map<string, number>();
  let at = profile.startTime;
  let windowUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < fromUs || at > toUs) continue;
    const self = profile.timeDeltas[i + 1] ?? 0;
    windowUs += self;
    const layer = layerFor(profile.samples[i]);
    totals.set(layer, (totals.get(layer) ?? 0) + self);
  }
  totals.delete('(root)');
  const idle = totals.get('(idle)') ?? 0;
  totals.delete('(idle)');
  const busyUs = windowUs - idle;
  const layers = [...totals.entries()]
    .map(([layer, us]) => ({
      layer,
      selfMs: Math.round(us / 100) / 10,
      usPerRequest: requests > 0 ? Math.round((us / requests) * 10) / 10 : 0,
      share: busyUs > 0 ? Math.round((us / busyUs) * 1000) / 1000 : 0,
    }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return { layers, busyMs: Math.round(busyUs / 1000), windowMs: Math.round(windowUs / 1000) };
}
