// Starting a host process, knowing when it listens, reading its memory, and stopping it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

const READY_TIMEOUT_MS = 30_000;

/** Resolves when something accepts a connection on 127.0.0.1:`port`; retried every 50 ms. */
function portOpen(port, gone) {
  return new Promise((resolve) => {
    const attempt = () => {
      if (gone()) return resolve(false);
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => setTimeout(attempt, 50));
    };
    attempt();
  });
}

/** The port the host announces (first group of `ready`) or opens (`ready.port`), or a reason it will not. */
function whenReady(proc, ready, output) {
  return new Promise((resolve) => {
    let exited = false;
    const timer = setTimeout(
      () => resolve({ why: `not listening after ${READY_TIMEOUT_MS / 1000} s` }),
      READY_TIMEOUT_MS,
    );
    const done = (result) => {
      clearTimeout(timer);
      resolve(result);
    };
    proc.once('exit', (code, signal) => {
      exited = true;
      // host.mjs says "unavailable <why>"; a CLI says "cgibridge: <why>"; else the first line.
      const line = output.text.split('\n').find((l) => l.trim() !== '') ?? `exited (${signal ?? code})`;
      done({ why: line.replace(/^unavailable /, '').trim() });
    });
    if (ready instanceof RegExp) {
      output.watch = () => {
        const m = ready.exec(output.text);
        if (m) done({ port: Number(m[1]) });
      };
    } else {
      portOpen(ready.port, () => exited).then((open) => open && done({ port: ready.port }));
    }
  });
}

/**
 * Starts the host `spec` (from resolveHost) with the context `context(spec)` resolves to.
 * @returns `{ name, spec, pid, url(path), rssBytes(), cpuMs(), stop() }`, or `{ name, spec, unavailable }` with the reason.
 */
export async function startHost(spec, context) {
  let launch;
  try {
    launch = await spec.entry.launch(await context(spec));
  } catch (error) {
    return { name: spec.name, spec, unavailable: error.message };
  }
  const proc = spawn(launch.command, launch.args, {
    env: { ...process.env, ...launch.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { text: '', watch: () => {} };
  let announced = false;
  const take = (chunk) => {
    if (!announced) {
      output.text += chunk;
      output.watch();
    }
  };
  proc.stdout.on('data', take);
  proc.stderr.on('data', (chunk) => {
    take(chunk);
    // What a host says later (a Go log line, a gateway warning) is worth seeing, each line labelled.
    if (announced) process.stderr.write(String(chunk).replace(/^(?=.)/gm, `[${spec.name}] `));
  });
  proc.once('error', (error) => {
    output.text = `${error.code ?? error.message}: ${launch.command}`;
    proc.emit('exit', null, null);
  });
  const ready = await whenReady(proc, launch.ready, output);
  announced = true;
  if (ready.why !== undefined) {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    return { name: spec.name, spec, unavailable: ready.why };
  }
  return hostHandle(spec, proc, ready.port);
}

/**
 * CPU milliseconds process `pid` has used (every thread: `self`) and its reaped children have
 * (`children`), from /proc (Linux). @throws when the process is gone.
 */
export function processCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // From field 3 on (the name may hold spaces): utime, stime, cutime and cstime are 14-17, in 1/100 s.
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return { self: (f[11] + f[12]) * 10, children: (f[13] + f[14]) * 10 };
}

function hostHandle(spec, proc, port) {
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  return {
    name: spec.name,
    spec,
    pid: proc.pid,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    /** The host process's resident memory now (its scripts not included), NaN once it is gone. */
    rssBytes() {
      try {
        return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1]) * 1024;
      } catch {
        return Number.NaN;
      }
    },
    /**
     * CPU milliseconds so far: `self` for the host process (every thread), `scripts` for the
     * children it has reaped (its scripts, unless a zygote of its own starts them); NaN once gone.
     */
    cpuMs() {
      try {
        const { self, children } = processCpuMs(proc.pid);
        return { self, scripts: children };
      } catch {
        return { self: Number.NaN, scripts: Number.NaN };
      }
    },
    /** SIGTERM, then SIGKILL if the host is still there 5 s later. */
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
