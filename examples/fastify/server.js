import { createApp } from './app.js';

const app = await createApp({ pino: true });
await app.listen({ port: Number(process.env.PORT ?? 3004), host: '127.0.0.1' });
// app.close() (on SIGINT here) also kills the scripts still running.
process.once('SIGINT', () => app.close());
