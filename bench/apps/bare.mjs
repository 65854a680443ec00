// `bare`: a bare Fastify server answering the same small JSON as the other scenarios:
// the framework's limit on this machine. Benchmark only.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/items/:id', async (request) => ({ id: request.params.id, name: 'item', total: 3750 }));
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.send?.({ ready: app.server.address().port });
