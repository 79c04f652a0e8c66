import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Starts the forwarding proxy of `forward-proxy.mjs` as a separate process (a real peer, as
 * nginx would be): it listens on 127.0.0.1, connects onward from 127.0.0.2, writes
 * X-Forwarded-For/-Proto and passes every other header through.
 */
export async function startForwardProxy(): Promise<{ url: string; close: () => Promise<void> }> {
  const proc = spawn(process.execPath, [fileURLToPath(new URL('./forward-proxy.mjs', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    proc.stdout.setEncoding('utf8').once('data', (line: string) => resolve(line.trim()));
    proc.once('exit', (code) => reject(new Error(`forward proxy exited (${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
