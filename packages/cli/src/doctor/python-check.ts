import { pythonModuleProblem } from '@cgibridge/core';
import type { Findings } from './finding.js';
import type { ProcessOutcome } from './run-process.js';

/**
 * Run by the script's own Python as `python -c CHECKER script`: compiles the source to an AST
 * and to code (no execution, no .pyc written), lists its imports, and asks the import system
 * whether each top-level module can be found (find_spec: located, not loaded). Written for
 * Python 2.7 and 3 alike, since legacy scripts may name either.
 */
export const PYTHON_CHECKER = `
import sys, json
GUARDS = ("ImportError", "ModuleNotFoundError", "Exception", "BaseException")

def guards_imports(node):
    for handler in getattr(node, "handlers", []):
        kinds = handler.type
        if kinds is None:
            return True
        for kind in getattr(kinds, "elts", [kinds]):
            if getattr(kind, "id", getattr(kind, "attr", None)) in GUARDS:
                return True
    return False

def collect(ast, node, optional, found):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import):
            for alias in child.names:
                found.append({"name": alias.name, "line": child.lineno, "optional": optional})
            continue
        if isinstance(child, ast.ImportFrom):
            if not child.level and child.module:
                found.append({"name": child.module, "line": child.lineno, "optional": optional})
            continue
        guarded = optional or guards_imports(child)
        if isinstance(child, ast.If):
            test = ast.dump(child.test)
            guarded = guarded or "version" in test or "PY2" in test or "PY3" in test
        collect(ast, child, guarded, found)

def available(name):
    if name in sys.builtin_module_names:
        return True
    try:
        import importlib.util
        return importlib.util.find_spec(name) is not None
    except ImportError:
        import imp
        try:
            imp.find_module(name)
            return True
        except ImportError:
            return False
    except Exception:
        return True

def main():
    path = sys.argv[1]
    out = {"version": list(sys.version_info[:3]), "imports": []}
    tree = None
    try:
        import ast
        source = open(path, "rb").read()
        tree = compile(source, path, "exec", ast.PyCF_ONLY_AST)
        compile(tree, path, "exec")
    except SyntaxError as e:
        out["syntax"] = {"line": e.lineno, "msg": str(e.msg), "text": (e.text or "").strip()}
    except (ValueError, TypeError) as e:
        out["syntax"] = {"line": None, "msg": str(e), "text": ""}
    if tree is not None and "syntax" not in out:
        collect(ast, tree, False, out["imports"])
        for item in out["imports"]:
            item["found"] = available(item["name"].split(".")[0])
    sys.stdout.write(json.dumps(out))

main()
`;

interface CheckerReport {
  readonly version: number[];
  readonly imports: ReadonlyArray<{ name: string; line: number; optional: boolean; found?: boolean }>;
  readonly syntax?: { line: number | null; msg: string; text: string };
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}

// An import line in source that did not compile: still worth naming what it imports.
const IMPORT_LINE = /^[ \t]*(?:import[ \t]+([A-Za-z_][\w.]*)|from[ \t]+([A-Za-z_][\w.]*)[ \t]+import)/gm;

/** Imports a regex finds, for sources the interpreter could not compile. */
export function scanImports(source: string): Array<{ name: string; line: number }> {
  const out: Array<{ name: string; line: number }> = [];
  for (const m of source.matchAll(IMPORT_LINE)) {
    out.push({ name: (m[1] ?? m[2]) as string, line: source.slice(0, m.index).split('\n').length });
  }
  return out;
}

/**
 * Turns the checker's report into findings: a syntax error (with a Python 2 hint), removed
 * modules (an error from the version that removed them, a heads-up before), modules not found.
 */
export function pythonFindings(outcome: ProcessOutcome, interpreter: string, source: string, findings: Findings): void {
  let report: CheckerReport;
  try {
    // The report is the last line: a sitecustomize or .pth file may print before it.
    report = JSON.parse(lastLine(outcome.stdout.toString('utf8'))) as CheckerReport;
  } catch {
    const why = outcome.timedOut
      ? 'timed out'
      : outcome.spawnError !== undefined
        ? `cannot start (${outcome.spawnError})`
        : lastLine(outcome.stderr).slice(0, 200) || `exit status ${outcome.exitCode}`;
    findings.add(
      'interpreter',
      'error',
      `${interpreter} failed before it could check the script: ${why}`,
      `make "${interpreter}" work for the scripts' user and PATH, or change the shebang`,
    );
    return;
  }
  const version = report.version;
  const python = `${interpreter} (Python ${version.join('.')})`;
  if (report.syntax !== undefined) {
    const { line, msg, text } = report.syntax;
    const py2 =
      /Missing parentheses in call to '(print|exec)'|print "/.test(`${msg} ${text}`) && (version[0] ?? 0) >= 3;
    findings.add(
      'syntax',
      'error',
      `${python}: SyntaxError${line === null ? '' : ` at line ${line}`}: ${msg}${text ? `: ${text}` : ''}`,
      py2
        ? 'this is Python 2 code: port it to Python 3 (print(...), except X as e, ...) or give it a Python 2 interpreter'
        : `correct line ${line ?? '?'}`,
    );
  }
  const imports =
    report.syntax === undefined ? report.imports : scanImports(source).map((item) => ({ ...item, optional: false }));
  for (const item of imports) {
    if (item.optional) continue;
    const removed = pythonModuleProblem(item.name, version);
    if (removed !== undefined) {
      findings.add(
        'imports',
        removed.breaks ? 'error' : 'warning',
        `line ${item.line}: ${removed.problem}`,
        removed.fix,
      );
    } else if ('found' in item && item.found === false) {
      findings.add(
        'imports',
        'error',
        `line ${item.line}: module ${item.name.split('.')[0]} is not installed for ${python}`,
        'install the package that provides it for that interpreter, or add its directory to PYTHONPATH (--env PYTHONPATH=...)',
      );
    }
  }
}
