import { setFlagsFromString } from 'node:v8';

/** V8's cap on the young generation, in MiB (doubled in Node's builds, which have no pointer compression). */
const FLAG = 'scavenger-max-new-space-capacity-mb';

// V8 then collects dead chunk buffers once 16 MiB of them (4 × the value) are waiting.
const STREAMING_CAPACITY_MB = 4;

/**
 * Makes V8 free the buffers of streamed chunks early, so a server that streams large bodies
 * keeps a flat memory on every Node line. Each chunk read from a script's stdout or a request
 * body is a new buffer of up to 64 KiB, dead once written on; V8 frees it when it collects the
 * young generation, and forces that collection when the buffers young objects hold exceed twice
 * the maximum semi-space, i.e. 4 × this flag in MiB. V8 13.6 (Node 24) raised the flag's default
 * from 8 to 32: that trigger moved from 32 MiB to 128 MiB, beyond V8's 64 MiB external-memory
 * limit, so dead chunks piled up to that limit and waited for full mark-compacts (measured
 * through the CLI, 1 GiB each way: peak RSS +60-72 MiB on Node 24, +21-37 MiB on Node 20 and 22).
 * Set after start-up, the flag moves only that trigger (V8 reads it on every buffer allocation),
 * not the young generation's size, which was fixed at start-up.
 *
 * Only for a process cgibridge owns (the `serve` command), never from the libraries: V8 flags
 * are the whole process's. Left alone on V8 < 12 (Node 20: no such flag; its trigger is 32 MiB)
 * and when the command line chose a value.
 *
 * @returns whether the flag was set.
 * @example
 * ```ts
 * collectDeadChunksEarly(); // first thing in `cgibridge serve`
 * ```
 */
export function collectDeadChunksEarly(): boolean {
  if (Number.parseInt(process.versions.v8, 10) < 12) return false;
  if (process.execArgv.some((arg) => arg.replaceAll('_', '-').startsWith(`--${FLAG}`))) return false;
  setFlagsFromString(`--${FLAG}=${STREAMING_CAPACITY_MB}`);
  return true;
}
