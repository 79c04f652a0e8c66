// The native spawner's stdout: a pipe as large as the per-user budget allows (at most 256 KiB),
// read as much at a time into one buffer every stdout of the server shares. Through the CLI, on
// real scripts.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeSizesFor } from '../../packages/core/dist/select-spawner.js';
import { type RunningCli, startCli } from '../support/cli.js';

const MiB = 1024 * 1024;

/** A GET; with `stallMs`, the client stops reading for that long after its first chunk. */
function get(url: string, stallMs = 0): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (chunks.length === 1 && stallMs > 0) {
          res.pause();
          setTimeout(() => res.resume(), stallMs);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('stdout of a natively spawned script', () => {
  let dir: string;
  let cli: RunningCli;
  const files: Buffer[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgibridge-read-size-'));
    const root = join(dir, 'cgi-bin');
    const data = join(dir, 'data');
    mkdirSync(root);
    mkdirSync(data);
    writeFileSync(
      join(root, 'pipe-size.py'),
      '#!/usr/bin/python3\nimport fcntl, sys\nsys.stdout.write("Content-Type: text/plain\\r\\n\\r\\n%d\\n" % fcntl.fcntl(1, 1032))\n',
      { mode: 0o755 },
    );
    // Random bytes, different in each file: a chunk landing in another response would show.
    // Larger than loopback's socket buffers, so that a stalled client's chunks wait in the server.
    for (let i = 0; i < 6; i++) {
      const bytes = randomBytes(16 * MiB + i * 4099);
      files.push(bytes);
      writeFileSync(join(data, `${i}.bin`), bytes);
    }
    writeFileSync(
      join(root, 'file.sh'),
      `#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\r\\n\\r\\n'\ncase "$QUERY_STRING" in [0-5]) exec cat "${data}/$QUERY_STRING.bin";; esac\n`,
      { mode: 0o755 },
    );
    cli = await startCli([root, '--quiet']);
  });
  afterAll(async () => {
    await cli?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is a pipe of the size the budget gives (256 KiB as root), not the kernel default', async () => {
    const expected = pipeSizesFor(64).stdoutPipeSize ?? 64 * 1024;
    if (process.geteuid?.() === 0) {
      expect(expected).toBe(Math.min(256 * 1024, Number(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8'))));
    }
    const reply = await get(`${cli.url}pipe-size.py`);
    expect(reply.status).toBe(200);
    expect(Number(reply.body.toString().trim())).toBe(expected);
  });

  it('keeps each response whole when many are read at once through the shared buffer', async () => {
    // Stalled clients leave chunks queued in the server while other scripts' reads land.
    for (const stallMs of [0, 150, 300]) {
      const replies = await Promise.all(files.map((_, i) => get(`${cli.url}file.sh?${i}`, i % 2 ? stallMs : 0)));
      replies.forEach((reply, i) => {
        expect(reply.status).toBe(200);
        expect(reply.body.length).toBe(files[i]?.length);
        expect(sha(reply.body)).toBe(sha(files[i] as Buffer));
      });
    }
  });
});

describe('the pipe budget', () => {
  const KiB = 1024;
  const SCRIPTS = [1, 16, 64, 1000, Number.POSITIVE_INFINITY];

  it("keeps an unprivileged user's two pipes per script within a quarter of its budget", () => {
    for (const softPages of [16384, 4096, 262144]) {
      for (const scripts of SCRIPTS) {
        const { pipeSize = 0, stdoutPipeSize = 0 } = pipeSizesFor(scripts, { root: false, maxBytes: MiB, softPages });
        expect(stdoutPipeSize).toBe(Math.min(pipeSize, 256 * KiB));
        const counted = Number.isFinite(scripts) ? scripts : 1024;
        expect((pipeSize + stdoutPipeSize) * counted).toBeLessThanOrEqual((softPages * 4 * KiB) / 4);
      }
    }
    // The kernel's default budget (64 MiB) and maxConcurrent (64): 128 KiB each.
    expect(pipeSizesFor(64, { root: false, maxBytes: MiB, softPages: 16384 })).toEqual({
      pipeSize: 128 * KiB,
      stdoutPipeSize: 128 * KiB,
    });
    // Too little to beat the default: the kernel's 64 KiB.
    expect(pipeSizesFor(1000, { root: false, maxBytes: MiB, softPages: 16384 })).toEqual({});
  });

  it('gives root (exempt) and a user with no budget pipe-max-size, at most 1 MiB (256 KiB for stdout)', () => {
    for (const scripts of SCRIPTS) {
      expect(pipeSizesFor(scripts, { root: true, maxBytes: 4 * MiB, softPages: 16384 })).toEqual({
        pipeSize: MiB,
        stdoutPipeSize: 256 * KiB,
      });
      expect(pipeSizesFor(scripts, { root: false, maxBytes: 256 * KiB, softPages: 0 })).toEqual({
        pipeSize: 256 * KiB,
        stdoutPipeSize: 256 * KiB,
      });
    }
  });
});
