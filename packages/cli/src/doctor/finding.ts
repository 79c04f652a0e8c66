/** How bad a finding is: `error` fails now, `warning` works but will break or misbehave, `info` is for the record. */
export type Severity = 'error' | 'warning' | 'info';

/** Which check of the doctor's checklist a finding comes from. */
export type CheckName =
  | 'script'
  | 'access'
  | 'executable'
  | 'shebang'
  | 'interpreter'
  | 'syntax'
  | 'imports'
  | 'run'
  | 'index';

/** One line of the doctor's report (the `--json` array holds these). */
export interface Finding {
  /** The script's path relative to the root (`.` for the root itself). */
  readonly script: string;
  readonly check: CheckName;
  readonly severity: Severity;
  readonly message: string;
  /** What to do about it; `null` when nothing needs doing. */
  readonly fix: string | null;
}

/** Collects the findings of one script. */
export class Findings {
  readonly list: Finding[] = [];
  readonly #script: string;

  constructor(script: string) {
    this.#script = script;
  }

  add(check: CheckName, severity: Severity, message: string, fix: string | null = null): void {
    this.list.push({ script: this.#script, check, severity, message, fix });
  }

  /** Whether anything so far stops the script from working. */
  get failed(): boolean {
    return this.list.some((finding) => finding.severity === 'error');
  }
}
