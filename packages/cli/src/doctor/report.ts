import type { Finding } from './finding.js';

/** Totals for the summary line. */
export interface DoctorTotals {
  readonly scripts: number;
  readonly otherFiles: number;
  readonly perlCompiled: number;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** Exit status: 1 when an error or a warning was found, else 0. */
export function exitCodeOf(findings: readonly Finding[]): 0 | 1 {
  return findings.some((finding) => finding.severity !== 'info') ? 1 : 0;
}

/**
 * The human report: one line per finding, `path: severity: message -- fix: ...`, then a
 * summary line, then notes on what the checks themselves did.
 */
export function formatText(findings: readonly Finding[], totals: DoctorTotals): string {
  const lines = findings.map(
    (finding) =>
      `${finding.script}: ${finding.severity}: ${finding.message}${finding.fix === null ? '' : ` -- fix: ${finding.fix}`}`,
  );
  const errors = findings.filter((finding) => finding.severity === 'error').length;
  const warnings = findings.filter((finding) => finding.severity === 'warning').length;
  const checked = `${plural(totals.scripts, 'script')} checked${totals.otherFiles ? `, ${plural(totals.otherFiles, 'other file')}` : ''}`;
  const verdict =
    errors + warnings === 0
      ? 'no problems found'
      : `${plural(errors + warnings, 'problem')} (${plural(errors, 'error')}, ${plural(warnings, 'warning')})`;
  lines.push(`cgibridge doctor: ${checked}; ${verdict}`);
  if (totals.perlCompiled > 0) {
    lines.push(
      `note: "perl -c" compiled ${plural(totals.perlCompiled, 'Perl script')}, which runs the import code of the modules they use`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The `--json` report: the findings as an array of `{script, check, severity, message, fix}`. */
export function formatJson(findings: readonly Finding[]): string {
  return `${JSON.stringify(findings, null, 2)}\n`;
}
