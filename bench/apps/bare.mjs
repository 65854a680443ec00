// `bare`: a bare Fastify server answering the same small JSON as the other scenarios:
// the framework's limit on this machine. Benchmark only.
import Fastify from 'fastify';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const app = Fastify({ logger: false });
app.get('/items/:id', async (request) => ({ id: request.params.id, name: 'item', total: 3750 }));
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
// Event-loop delay for the runner (over IPC, never over HTTP), measured as prom-client does it.
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
process.on('message', (m) => {
  if (m !== 'eventloop') return;
  process.send({ eventloopP99Ms: delay.percentile(99) / 1e6 });
  delay.reset();
});
process.send?.({ ready: app.server.address().port });
