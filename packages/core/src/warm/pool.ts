import type { CgiLogger } from '../logger.js';
import { within } from '../within.js';
import type { WarmPythonConfig } from './settings.js';
import { Zygote, type ZygoteState } from './zygote.js';

/** One zygote as the warm spawner's stats show it. */
export interface WarmZygoteInfo {
  /** Real path of the interpreter. */
  readonly interpreter: string;
  readonly pid: number | undefined;
  readonly state: ZygoteState;
  /** Requests sent to it. */
  readonly served: number;
  /** Python version, once ready. */
  readonly version: string;
}

/** The zygotes of one interpreter: the one serving, and its successor while it starts. */
interface Slot {
  current: Zygote | undefined;
  next: Zygote | undefined;
  /** Consecutive failures (never ready, crashed, hung), and when the next start may be tried. */
  failures: number;
  retryAt: number;
}

/** Time close() gives running warm children before their zygotes are killed. */
const CLOSE_GRACE_MS = 5000;

/**
 * Every zygote of a warm spawner, one slot per real interpreter path: starts them on demand,
 * replaces dead, stale and worn-out ones, backs off after failures, and stops them all.
 */
export class ZygotePool {
  private readonly slots = new Map<string, Slot>();
  private readonly all = new Set<Zygote>();
  private closed = false;

  constructor(
    private readonly config: WarmPythonConfig,
    private readonly logger: CgiLogger,
  ) {}

  /**
   * The zygote to use for an interpreter now, or why none: starts the first one, replaces a
   * dead or stale one (cold meanwhile), and starts a successor for one due for recycling while
   * it keeps serving.
   */
  pick(realPath: string): Zygote | string {
    const slot = this.slotFor(realPath);
    const now = Date.now();
    if (slot.next?.state === 'gone') slot.next = undefined;
    if (slot.next?.state === 'ready') {
      slot.current?.retire();
      slot.current = slot.next;
      slot.next = undefined;
    }
    const zygote = slot.current;
    if (zygote === undefined || zygote.state === 'gone' || zygote.state === 'retiring') {
      slot.current = this.start(realPath, slot);
      if (zygote === undefined) return 'zygote starting';
      return zygote.state === 'gone' ? 'zygote gone' : 'zygote retiring';
    }
    if (zygote.state === 'starting') return 'zygote starting';
    const changed = zygote.stale(now);
    if (changed !== undefined) {
      this.logger.info(`warm-python: ${changed} changed since the zygote for ${realPath} loaded it: replacing it`);
      zygote.retire();
      slot.current = this.start(realPath, slot);
      return 'zygote stale';
    }
    if (zygote.due(now) && slot.next === undefined) slot.next = this.start(realPath, slot);
    return zygote;
  }

  /** A warm spawn worked: the interpreter's failure count starts over. */
  succeeded(zygote: Zygote): void {
    const slot = this.slots.get(zygote.realPath);
    if (slot) slot.failures = 0;
  }

  info(): WarmZygoteInfo[] {
    return [...this.all].map((z) => ({
      interpreter: z.realPath,
      pid: z.pid,
      state: z.state,
      served: z.served,
      version: z.version,
    }));
  }

  /** Retires every zygote, gives running children a grace period, then kills what is left. Never hangs. */
  async close(): Promise<void> {
    this.closed = true;
    const zygotes = [...this.all];
    for (const zygote of zygotes) zygote.retire();
    const gone = Promise.all(zygotes.map((z) => z.gone));
    await within(gone, CLOSE_GRACE_MS);
    for (const zygote of zygotes) zygote.kill('still running when the spawner closed', false);
    await within(gone, 1000);
  }

  private slotFor(realPath: string): Slot {
    let slot = this.slots.get(realPath);
    if (slot === undefined) {
      slot = { current: undefined, next: undefined, failures: 0, retryAt: 0 };
      this.slots.set(realPath, slot);
    }
    return slot;
  }

  private start(realPath: string, slot: Slot): Zygote | undefined {
    if (this.closed || Date.now() < slot.retryAt) return undefined;
    const zygote = new Zygote(realPath, this.config, this.logger);
    this.all.add(zygote);
    void zygote.gone.then((failed) => {
      this.all.delete(zygote);
      if (!failed) return;
      slot.failures++;
      slot.retryAt = Date.now() + Math.min(60_000, 1000 * 2 ** (slot.failures - 1));
    });
    return zygote;
  }
}
