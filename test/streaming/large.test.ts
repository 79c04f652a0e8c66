import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCli, startCli } from '../support/cli.js';
import { makeScriptRoot, type ScriptRoot } from '../support/fixtures.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
// Tiny against the 1 GiB that would be held if anything buffered. Dead chunk buffers wait for
// V8 to collect them: up to 32 MiB on Node 20, 16 MiB where the CLI can set V8's young
// generation (22 and 24); above that, allocator noise. Node 24 left as it comes holds up to
// V8's 64 MiB external-memory limit (see packages/cli/src/young-generation.ts): this fails.
const FLAT = 48 * MiB;

/** Peak resident set size of a process so far (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error('no VmHWM');
  return Number(match[1]) * 1024;
}

/** Downloads a response, counting bytes without keeping them. */
function download(url: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** Uploads `total` bytes generated on the fly and returns the reply text. */
function upload(url: string, total: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(256 * 1024, 0x62);
    const req = httpRequest(url, { method: 'POST', headers: { 'Content-Length': String(total) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (part: string) => {
        text += part;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

describe('streaming with flat memory (1 GiB each way, through the CLI server)', () => {
  let root: ScriptRoot;
  let cli: RunningCli;
  let baseline: number;

  beforeAll(async () => {
    root = makeScriptRoot();
    cli = await startCli([root.root, '--max-request-body', 'unlimited', '--timeout', '5m', '--quiet']);
    // Warm up so the baseline includes the server's steady state, not its start-up.
    await download(`${cli.url}big.sh?${8 * MiB}`);
    await upload(`${cli.url}count.sh`, 8 * MiB);
    baseline = peakRss(cli.proc.pid as number);
  });
  afterAll(async () => {
    await cli?.stop();
    root?.cleanup();
  });

  it('streams a 1 GiB response', async () => {
    const reply = await download(`${cli.url}big.sh?${GiB}`);
    expect(reply).toEqual({ status: 200, bytes: GiB });
    const growth = peakRss(cli.proc.pid as number) - baseline;
    console.info(`1 GiB response: server peak RSS grew ${(growth / MiB).toFixed(1)} MiB`);
    expect(growth).toBeLessThan(FLAT);
  }, 120_000);

  it('streams a 1 GiB upload to a script that reads all of it', async () => {
    const reply = await upload(`${cli.url}count.sh`, GiB);
    expect(reply).toEqual({ status: 200, text: `${GiB}\n` });
    const growth = peakRss(cli.proc.pid as number) - baseline;
    console.info(`1 GiB upload: server peak RSS grew ${(growth / MiB).toFixed(1)} MiB`);
    expect(growth).toBeLessThan(FLAT);
  }, 120_000);
});
