import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3002);
const server = createApp().listen(port, '127.0.0.1', () =>
  console.log(`koa example: http://127.0.0.1:${server.address().port}/`),
);
