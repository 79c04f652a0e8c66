// The figures a run measures, with how two values of each compare.

/** The request scripts: key → the URL path and, for a POST, the body. */
export const SCRIPTS = {
  sh: { label: 'hello.sh', path: '/cgi-bin/hello.sh' },
  pl: { label: 'hello.pl', path: '/cgi-bin/hello.pl' },
  py: { label: 'hello.py', path: '/cgi-bin/hello.py' },
  form: {
    label: 'form.py POST',
    path: '/cgi-bin/form.py',
    post: {
      type: 'application/x-www-form-urlencoded',
      body: 'name=Ada+Lovelace&email=ada%40example.org&subject=engines&message=hello+there',
    },
  },
};

/**
 * Every figure that is compared across hosts. kind `rate`: higher is better, compared as a
 * percentage; `latency` (ms) and `memory` (MiB): lower is better, compared as a difference.
 */
export function figures(streamMiB, uploadMiB) {
  const requests = Object.entries(SCRIPTS).flatMap(([key, { label }]) => [
    { key: `${key} c8 rps`, label: `${label} c8 req/s`, kind: 'rate' },
    { key: `${key} c1 p50`, label: `${label} c1 p50 ms`, kind: 'latency' },
  ]);
  return [
    ...requests,
    { key: 'stream mbps', label: `${streamMiB} MiB response MB/s`, kind: 'rate' },
    { key: 'stream growth', label: 'RSS growth, fast download (MiB)', kind: 'memory' },
    { key: 'count mbps', label: `${uploadMiB} MiB upload MB/s`, kind: 'rate' },
    { key: 'echo mbps', label: `${uploadMiB} MiB full-duplex echo MB/s`, kind: 'rate' },
    { key: 'idle rss', label: 'idle RSS at start (MiB)', kind: 'memory' },
    { key: 'idle rss after', label: 'idle RSS after the run (MiB)', kind: 'memory' },
  ];
}

/** Decimals a figure of `kind` is printed with. */
export const digitsOf = (kind) => (kind === 'latency' ? 2 : kind === 'memory' ? 1 : 0);

/** The better of two values of a figure of `kind` (NaN-safe). */
export function better(kind, a, b) {
  const xs = [a, b].filter(Number.isFinite);
  if (xs.length === 0) return Number.NaN;
  return kind === 'rate' ? Math.max(...xs) : Math.min(...xs);
}
