// Medians, spreads and the number formats of the report.

/** The median of the finite values of `xs` (NaN when there is none). */
export const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** " (min–max)" over the rounds, or "" for a single round. */
export const spread = (xs, digits = 0) => {
  const s = xs.filter(Number.isFinite);
  return s.length > 1 ? ` (${Math.min(...s).toFixed(digits)}–${Math.max(...s).toFixed(digits)})` : '';
};

/** A number with `digits` decimals, or "n/a". */
export const fmt = (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

/** `x` as a percentage of `of`, or "n/a". */
export const pct = (x, of) =>
  Number.isFinite(x) && Number.isFinite(of) && of > 0 ? `${((x / of) * 100).toFixed(0)}%` : 'n/a';

/** `x - of` with a sign, or "n/a". */
export const delta = (x, of, digits = 2) =>
  Number.isFinite(x) && Number.isFinite(of) ? `${x - of >= 0 ? '+' : '−'}${Math.abs(x - of).toFixed(digits)}` : 'n/a';
