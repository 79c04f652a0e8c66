import type { CgiError } from './errors.js';
import type { CgiExit, CgiProcess } from './spawner.js';

/** How much of a failed script's stdout the development page shows. */
export const DEBUG_OUTPUT_BYTES = 2048;
/** How many of a failed script's last stderr lines the development page shows. */
export const DEBUG_STDERR_LINES = 20;

/** What the development error page shows about a failed script (option `debug`). */
export interface CgiDebugFacts {
  /** `SCRIPT_NAME` of the script. */
  readonly scriptName: string;
  /** The script's first output bytes, at most {@link DEBUG_OUTPUT_BYTES}. */
  readonly output: Buffer;
  /** How many output bytes the gateway read before the failure (more than `output` when cut). */
  readonly outputBytes: number;
  /** The last stderr lines as logged, at most {@link DEBUG_STDERR_LINES}. */
  readonly stderr: readonly string[];
  /** How many earlier stderr lines are not in `stderr`. */
  readonly stderrSkipped: number;
  /** Whether a process was started at all. */
  readonly started: boolean;
  /** How it ended; `undefined` when it never started or had not ended when the page was made. */
  readonly exit: CgiExit | undefined;
  /** The gateway killed it because of the failure (its exit is then that kill's signal). */
  readonly killed: boolean;
}

// The facts of a failed run, looked up by the error the run rejected with. A WeakMap: an
// error nobody asks about (debug off, or a host that never renders) is collected as usual.
const byError = new WeakMap<CgiError, Promise<CgiDebugFacts>>();

/** The facts recorded for an error, if any (only with `debug`). */
export function debugFactsOf(error: unknown): Promise<CgiDebugFacts> | undefined {
  return typeof error === 'object' && error !== null ? byError.get(error as CgiError) : undefined;
}

/** Records what is known about a script that failed before it started (no output, no exit). */
export function recordStartFailure(error: CgiError, scriptName: string): void {
  byError.set(
    error,
    Promise.resolve({
      scriptName,
      output: Buffer.alloc(0),
      outputBytes: 0,
      stderr: [],
      stderrSkipped: 0,
      started: false,
      exit: undefined,
      killed: false,
    }),
  );
}

/**
 * Collects, during one run and only with `debug`, what the development page shows: the first
 * output bytes, the last stderr lines, the exit. Bounded whatever the script writes.
 */
export class DebugFactsCollector {
  readonly #output: Buffer[] = [];
  #outputBytes = 0;
  #kept = 0;
  readonly #stderr: string[] = [];
  #stderrSkipped = 0;
  #exit: CgiExit | undefined;
  #killed = false;
  readonly #stderrClosed: Promise<void>;

  constructor(
    private readonly scriptName: string,
    process: CgiProcess,
  ) {
    void process.exit.then((exit) => {
      this.#exit = exit;
    });
    const { stderr } = process;
    this.#stderrClosed = stderr.closed
      ? Promise.resolve()
      : new Promise((resolve) => stderr.once('close', () => resolve()));
  }

  /** A chunk of the script's stdout, as read while looking for the header block. */
  output(chunk: Buffer): void {
    this.#outputBytes += chunk.length;
    if (this.#kept >= DEBUG_OUTPUT_BYTES) return;
    const part = chunk.subarray(0, DEBUG_OUTPUT_BYTES - this.#kept);
    this.#output.push(Buffer.from(part));
    this.#kept += part.length;
  }

  /** A stderr line as logged. */
  stderrLine(line: string): void {
    this.#stderr.push(line);
    if (this.#stderr.length > DEBUG_STDERR_LINES) {
      this.#stderr.shift();
      this.#stderrSkipped++;
    }
  }

  /**
   * The run failed with `error` before its headers: the facts become available for the page
   * once the run has ended (its exit known, its stderr read), or after `wait` ms at the latest.
   */
  failed(error: CgiError, ended: Promise<void>, killed: boolean, wait: number): void {
    this.#killed = killed;
    const settled = Promise.all([ended, this.#stderrClosed]);
    const bound = new Promise<void>((resolve) => setTimeout(resolve, wait).unref());
    byError.set(
      error,
      Promise.race([settled, bound]).then(() => this.#snapshot()),
    );
  }

  #snapshot(): CgiDebugFacts {
    return {
      scriptName: this.scriptName,
      output: Buffer.concat(this.#output),
      outputBytes: this.#outputBytes,
      stderr: [...this.#stderr],
      stderrSkipped: this.#stderrSkipped,
      started: true,
      exit: this.#exit,
      killed: this.#killed,
    };
  }
}
