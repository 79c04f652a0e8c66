/**
 * cgibridge: the command-line server, also usable programmatically.
 * @packageDocumentation
 */
export {
  type InfoCommand,
  parseCommandLine,
  parseDuration,
  parseSize,
  SERVE_USAGE,
  type ServeCommand,
  serveFlags,
  USAGE,
  UsageError,
} from './args.js';
export { main } from './main.js';
export { type RunningServer, serve } from './serve.js';
