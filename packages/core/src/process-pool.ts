import { CgiError } from './errors.js';
import type { CgiProcess } from './spawner.js';
import { within } from './within.js';

/**
 * One slot of `maxConcurrent`, shared by every hop of a local-redirect chain (RFC 3875
 * §6.2.2): a script that prints `Location: /next` and keeps working is legitimate, and the
 * chain still counts once, so a redirect loop cannot multiply the slots it holds.
 */
export class CgiSlot {
  #holders = 0;
  readonly #owner: object;
  readonly #take: () => void;
  readonly #free: () => void;

  /** @throws CgiError `ERR_CGI_BUSY` when `take` finds every slot taken. */
  constructor(owner: object, take: () => void, free: () => void) {
    this.#owner = owner;
    this.#take = take;
    this.#free = free;
    this.share();
  }

  /** Does this slot count against `owner`'s cap? (A chain may re-enter another gateway.) */
  belongsTo(owner: object): boolean {
    return this.#owner === owner;
  }

  /**
   * Another hop of the chain holds the slot too. If every earlier hop has already ended (its
   * script exited while the next URL was being resolved), the slot was freed: it is taken
   * again, under the same cap, instead of being freed a second time later.
   * @throws CgiError `ERR_CGI_BUSY` when the slot must be taken again and every slot is taken.
   */
  share(): this {
    if (this.#holders === 0) this.#take();
    this.#holders++;
    return this;
  }

  /** This holder is done; the slot is free when the last one is. */
  release(): void {
    if (--this.#holders === 0) this.#free();
  }
}

/** What the pool needs to know of a run to shut it down. */
export interface CgiPoolMember {
  readonly process: CgiProcess;
  /** Settles when the run has released everything it held. */
  readonly done: Promise<void>;
  /** Kills the run's process group (used by `close()`). */
  kill(): void;
}

/**
 * The running scripts of one gateway: `maxConcurrent` slots, the process groups still to be
 * SIGKILLed after their grace period, and a `close()` that waits for all of it (but never for
 * a process that escaped its group: runs end without waiting for those).
 */
export class CgiProcessPool {
  #slots = 0;
  readonly #members = new Set<CgiPoolMember>();
  /** The newest process started under each pid: a pending SIGKILL never reaches a pid reused since. */
  readonly #byPid = new Map<number, CgiProcess>();
  readonly #pendingKills = new Map<CgiProcess, Promise<void>>();
  /** Spawns in flight (settled, never rejecting), for `close()`. */
  readonly #spawns = new Set<Promise<void>>();
  #closed = false;
  readonly #max: number;
  readonly #killGrace: number;

  constructor(maxConcurrent: number, killGrace: number) {
    this.#max = maxConcurrent;
    this.#killGrace = killGrace;
  }

  /** Slots taken now. */
  get running(): number {
    return this.#slots;
  }

  /**
   * Takes a slot, or shares the one a local-redirect chain holds in this pool (a chain that
   * re-enters another gateway takes a slot there: each gateway's cap counts its own scripts).
   * @throws CgiError `ERR_CGI_BUSY` (503) when every slot is taken.
   */
  acquire(chain: CgiSlot | undefined): CgiSlot {
    if (chain?.belongsTo(this)) return chain.share();
    return new CgiSlot(this, this.#take, this.#free);
  }

  readonly #take = (): void => {
    this.assertOpen();
    if (this.#slots >= this.#max) {
      throw new CgiError('ERR_CGI_BUSY', `refused: ${this.#max} scripts already running (maxConcurrent)`);
    }
    this.#slots++;
  };

  readonly #free = (): void => {
    this.#slots--;
  };

  /**
   * Refuses what would start a script once `close()` has begun.
   * @throws CgiError `ERR_CGI_BUSY` (503) when the gateway is closing.
   */
  assertOpen(): void {
    if (this.#closed) throw new CgiError('ERR_CGI_BUSY', 'refused: the gateway is shutting down');
  }

  /** Tracks a spawn in flight: `close()` waits for it, and for the run it starts. */
  spawning<T>(spawn: Promise<T>): Promise<T> {
    const tracked = spawn.then(
      () => {},
      () => {},
    );
    this.#spawns.add(tracked);
    void tracked.then(() => this.#spawns.delete(tracked));
    return spawn;
  }

  add(member: CgiPoolMember): void {
    this.#members.add(member);
    this.#byPid.set(member.process.pid, member.process);
    void member.done.then(() => {
      this.#members.delete(member);
      if (!this.#pendingKills.has(member.process)) this.#forget(member.process);
    });
    // Spawned while close() ran: killed at once, and close() waits for it like the others.
    if (this.#closed) member.kill();
  }

  /** SIGTERM to the whole group now, SIGKILL after `killGrace` (whatever ignored SIGTERM). */
  kill(process: CgiProcess): void {
    if (this.#pendingKills.has(process)) return;
    process.killGroup('SIGTERM');
    const done = new Promise<void>((resolve) => {
      setTimeout(() => {
        if ((this.#byPid.get(process.pid) ?? process) === process) process.killGroup('SIGKILL');
        this.#pendingKills.delete(process);
        this.#forget(process);
        resolve();
      }, this.#killGrace);
    });
    this.#pendingKills.set(process, done);
  }

  #forget(process: CgiProcess): void {
    if (this.#byPid.get(process.pid) === process) this.#byPid.delete(process.pid);
  }

  /**
   * Refuses new scripts, kills every running script's group (and any whose spawn was in flight)
   * and resolves when all runs ended and every live group got its SIGKILL.
   */
  async close(): Promise<void> {
    this.#closed = true;
    // Bounded: a custom spawner that never settles must not hold the shutdown (a spawn that
    // settles later is still killed by add()).
    await within(Promise.all(this.#spawns), this.#killGrace);
    // A spawn's run is added in the continuation of its await (execute() starts the run with
    // no await in between): past this turn, it is a member.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#members.size > 0) {
      const members = [...this.#members];
      for (const member of members) member.kill();
      await Promise.all(members.map((member) => member.done));
    }
    const pending = [...this.#pendingKills].filter(([process]) => process.groupAlive());
    await Promise.all(pending.map(([, done]) => done));
  }
}
