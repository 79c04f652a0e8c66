// One request cannot affect the next, and a warm child is a process group like a cold one.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { alive, newWarmSpawner, optionsFor, runExpecting, scriptDir, until, warmUp } from './harness.js';

const files = scriptDir();
const spawner = newWarmSpawner();

beforeAll(async () => {
  await warmUp(spawner, optionsFor(files.write('warmup.py', 'pass\n'), 'shebang'));
});
afterAll(async () => {
  await spawner.close();
  files.cleanup();
});

it('a script that mutates preloaded modules, os.environ and sys leaves the next request untouched', async () => {
  const mutate = files.write(
    'mutate.py',
    `import json, os, sys, random, email.utils
json.dumps = lambda *a, **k: "HACKED"
email.utils.CRLF = "HACKED"
os.environ["LEAKED"] = "yes"
os.putenv("LEAKED_C", "yes")
sys.path.append("/leaked")
sys.modules["leaked_module"] = object()
random.seed(1234)
os.chdir("/")
print("mutated")
`,
  );
  const check = files.write(
    'check.py',
    `import json, os, sys, email.utils
print(json.dumps([1]), email.utils.CRLF == "\\r\\n")
print("LEAKED" in os.environ, os.getenv("LEAKED_C"), "/leaked" in sys.path, "leaked_module" in sys.modules)
print(os.getcwd() == os.path.dirname(__file__))
`,
  );
  const before = await runExpecting('warm', spawner, optionsFor(check, 'shebang'));
  expect((await runExpecting('warm', spawner, optionsFor(mutate, 'shebang'))).stdout.toString()).toBe('mutated\n');
  const after = await runExpecting('warm', spawner, optionsFor(check, 'shebang'));
  expect(after.stdout.toString()).toBe('[1] True\nFalse None False False\nTrue\n');
  expect(after.stdout.toString()).toBe(before.stdout.toString());
});

it('reseeds random in every child: two warm requests draw different numbers', async () => {
  const draw = files.write('draw.py', 'import random\nprint(random.random(), random.getrandbits(64))\n');
  const first = await runExpecting('warm', spawner, optionsFor(draw, 'shebang'));
  const second = await runExpecting('warm', spawner, optionsFor(draw, 'shebang'));
  expect(first.stdout.toString()).not.toBe(second.stdout.toString());
});

it('each request is a fresh process, the leader of its own session and group', async () => {
  const ids = files.write('ids.py', 'import os\nprint(os.getpid(), os.getpgid(0), os.getsid(0))\n');
  const a = await runExpecting('warm', spawner, optionsFor(ids, 'shebang'));
  const b = await runExpecting('warm', spawner, optionsFor(ids, 'shebang'));
  expect(a.stdout.toString()).toBe(`${a.pid} ${a.pid} ${a.pid}\n`);
  expect(b.stdout.toString()).toBe(`${b.pid} ${b.pid} ${b.pid}\n`);
  expect(a.pid).not.toBe(b.pid);
});

it("killGroup kills the warm child's background children too", async () => {
  const script = files.write(
    'background.py',
    `import subprocess, sys, time
child = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
time.sleep(60)
`,
  );
  const before = spawner.stats().warm;
  const proc = await spawner.spawn(optionsFor(script, 'shebang'));
  expect(spawner.stats().warm).toBe(before + 1);
  proc.stdin.end();
  const line = await new Promise<string>((resolve) => proc.stdout.once('data', (d: Buffer) => resolve(d.toString())));
  const grandchild = Number(line.trim());
  expect(alive(grandchild)).toBe(true);
  expect(proc.groupAlive()).toBe(true);
  proc.killGroup('SIGKILL');
  expect(await proc.exit).toEqual({ code: null, signal: 'SIGKILL' });
  await until(() => !alive(grandchild), 'the background child to die');
  await until(() => !proc.groupAlive(), 'the group to be empty');
});

it('keeps every byte and the end of stdout and stderr for a reader that comes late', async () => {
  const quick = files.write('quick.py', 'print("out")\n');
  const before = spawner.stats().warm;
  const proc = await spawner.spawn(optionsFor(quick, 'shebang'));
  expect(spawner.stats().warm).toBe(before + 1);
  proc.stdin.end();
  // Long after the script has exited and both streams have reached their end.
  expect(await proc.exit).toEqual({ code: 0, signal: null });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const read = (stream: NodeJS.ReadableStream) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => resolve(Buffer.concat(chunks).toString()));
      setTimeout(() => reject(new Error('no end')), 5000);
    });
  expect(await Promise.all([read(proc.stdout), read(proc.stderr)])).toEqual(['out\n', '']);
});

it("no request's environment reaches a later request's script, not even in the memory it inherits", async () => {
  // The zygote never reads a request (only its child does): freed buffers hold no cookies.
  const secret = `cookie-${Math.random().toString(36).slice(2)}-`;
  const scan = files.write(
    'scan.py',
    `import os, re
found = set()
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
    for line in maps:
        fields = line.split()
        if "r" not in fields[1] or fields[-1] in ("[vvar]", "[vsyscall]"):
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        try:
            mem.seek(start)
            found.update(re.findall(rb"${secret}\\d+", mem.read(end - start)))
        except (OSError, ValueError, OverflowError):
            pass
print(sorted(hit.decode() for hit in found))
`,
  );
  for (let i = 0; i < 3; i++) {
    const options = optionsFor(scan, 'shebang', {
      env: { HTTP_COOKIE: `${secret}${i}`, HTTP_AUTHORIZATION: `${secret}${i}` },
    });
    const shown = (await runExpecting('warm', spawner, options)).stdout.toString();
    // Its own, which it must see (the scan works), and none of the earlier requests'.
    expect(shown).toBe(`['${secret}${i}']\n`);
  }
});
