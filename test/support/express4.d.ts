// The Express 4 alias installed for the version matrix: same API as far as these tests go.
declare module 'express4' {
  import express from 'express';
  export default express;
}
declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}
