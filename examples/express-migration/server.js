// Starts the demo: PORT (default 3000), on 127.0.0.1 unless HOST says otherwise.
// --dev (npm run dev) turns on cgibridge's development error page: never in production.
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const debug = process.argv.includes('--dev');
const server = createApp({ debug }).listen(port, host, () => {
  const { port: actual } = server.address();
  const origin = `http://${host}:${actual}`;
  console.log(`express-migration: listening on ${origin}${debug ? ' (development error pages on)' : ''}`);
  console.log(`  modern:  ${origin}/  ${origin}/welcome  ${origin}/api/status`);
  console.log(
    `  legacy:  ${origin}/cgi-bin/guestbook.py  ${origin}/cgi-bin/login.py  ${origin}/cgi-bin/report.pl/2026`,
  );
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
  });
}
