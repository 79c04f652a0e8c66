// Starts the demo: PORT (default 3000), on 127.0.0.1 unless HOST says otherwise.
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const server = createApp().listen(port, host, () => {
  const { port: actual } = server.address();
  const origin = `http://${host}:${actual}`;
  console.log(`express-migration: listening on ${origin}`);
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
