import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CgiError } from './errors.js';

/** The bytes every spool file of a gateway may hold together (`spoolBudget`). */
export class SpoolBudget {
  #used = 0;
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Bytes held by spool files now. */
  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` more, or refuses with 503 when that would pass the budget. */
  take(bytes: number): void {
    if (this.#used + bytes > this.#max) {
      throw new CgiError(
        'ERR_CGI_SPOOL_FULL',
        `spooling this chunked body would pass spoolBudget (${this.#max} bytes)`,
      );
    }
    this.#used += bytes;
  }

  give(bytes: number): void {
    this.#used -= bytes;
  }
}

// Linux's O_TMPFILE (__O_TMPFILE | O_DIRECTORY; Node does not export it): a file with no name at all.
const O_TMPFILE = process.platform === 'linux' ? 0o20000000 | constants.O_DIRECTORY : 0;

/** An unnamed file in `directory`, or `undefined` where the file system cannot make one. */
async function unnamed(directory: string): Promise<FileHandle | undefined> {
  if (O_TMPFILE === 0) return undefined;
  try {
    return await open(directory, O_TMPFILE | constants.O_RDWR, 0o600);
  } catch {
    return undefined;
  }
}

/**
 * A private temporary file for one request body (as nginx spools large bodies): on Linux a
 * file that never has a name (O_TMPFILE); elsewhere created 0600 with O_EXCL under an
 * unguessable name and unlinked as soon as it is open. Either way nothing is left behind on
 * any exit path, not even a crash.
 */
export class SpoolFile {
  #size = 0;
  #released = false;

  private constructor(
    private readonly handle: FileHandle,
    private readonly budget: SpoolBudget,
  ) {}

  static async create(directory: string, budget: SpoolBudget): Promise<SpoolFile> {
    const handle = await unnamed(directory);
    if (handle !== undefined) return new SpoolFile(handle, budget);
    const path = join(directory, `cgibridge-body-${randomBytes(12).toString('hex')}`);
    const named = await open(path, 'wx+', 0o600);
    await unlink(path).catch(() => {});
    return new SpoolFile(named, budget);
  }

  /** Appends bytes, within the budget. */
  async write(bytes: Buffer): Promise<void> {
    this.budget.take(bytes.length);
    this.#size += bytes.length;
    await this.handle.write(bytes, 0, bytes.length, null);
  }

  /** The whole file as a stream; the file is closed and its budget given back when the stream closes. */
  reader(): Readable {
    const stream = this.handle.createReadStream({ start: 0, autoClose: true });
    stream.once('close', () => this.#giveBack());
    return stream;
  }

  /** Closes the file without reading it (the request failed). */
  discard(): void {
    this.#giveBack();
    this.handle.close().catch(() => {});
  }

  #giveBack(): void {
    if (this.#released) return;
    this.#released = true;
    this.budget.give(this.#size);
  }
}
