/**
 * Apache httpd configuration syntax, as its config reader has it: one directive per line,
 * a backslash as the very last character continues the line, lines starting with `#` are
 * comments (no trailing comments), arguments are separated by blanks and may be quoted
 * with `"` or `'` (a backslash escapes the quote inside), directive names are
 * case-insensitive, and `<Section args>` ... `</Section>` nest.
 */

/** One logical line of a config file. */
export interface ConfigLine {
  /** The file it came from, as shown in messages. */
  readonly file: string;
  /** Its first physical line (1-based). */
  readonly line: number;
  readonly kind: 'directive' | 'open' | 'close';
  /** The directive or section name, lower-cased. */
  readonly name: string;
  /** The name as written, for messages. */
  readonly written: string;
  readonly args: readonly string[];
  /** The logical line as written (continuations joined), for messages. */
  readonly text: string;
}

/** Splits arguments the way httpd's ap_getword_conf does: blanks separate, quotes group. */
export function splitArgs(text: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /[ \t]/.test(text[i] as string)) i++;
    if (i >= text.length) break;
    const quote = text[i];
    if (quote === '"' || quote === "'") {
      let word = '';
      i++;
      while (i < text.length && text[i] !== quote) {
        // Inside quotes a backslash escapes the quote character or itself.
        if (text[i] === '\\' && (text[i + 1] === quote || text[i + 1] === '\\')) i++;
        word += text[i];
        i++;
      }
      i++;
      args.push(word);
    } else {
      const start = i;
      while (i < text.length && !/[ \t]/.test(text[i] as string)) i++;
      args.push(text.slice(start, i));
    }
  }
  return args;
}

/** Joins continued lines: `[text, first physical line number]` per logical line. */
function logicalLines(source: string): Array<[string, number]> {
  const physical = source.split('\n').map((line) => line.replace(/\r$/, ''));
  const out: Array<[string, number]> = [];
  let pending = '';
  let start = 0;
  for (const [index, line] of physical.entries()) {
    if (pending === '') start = index + 1;
    // "\\" at the end is an escaped backslash, not a continuation.
    if (line.endsWith('\\') && !line.endsWith('\\\\')) {
      pending += line.slice(0, -1);
      continue;
    }
    out.push([pending + line, start]);
    pending = '';
  }
  if (pending !== '') out.push([pending, start]);
  return out;
}

/**
 * Reads a config file's text into logical lines.
 * @param file - how messages name the file.
 */
export function tokenize(source: string, file: string): ConfigLine[] {
  const lines: ConfigLine[] = [];
  for (const [raw, line] of logicalLines(source)) {
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) continue;
    const section = /^<(\/?)([^\s>]+)\s*(.*?)>?$/.exec(text);
    if (section !== null) {
      const written = section[2] as string;
      lines.push({
        file,
        line,
        kind: section[1] === '/' ? 'close' : 'open',
        name: written.toLowerCase(),
        written,
        args: splitArgs((section[3] as string).replace(/>$/, '')),
        text,
      });
      continue;
    }
    const [written = '', ...args] = splitArgs(text);
    lines.push({ file, line, kind: 'directive', name: written.toLowerCase(), written, args, text });
  }
  return lines;
}
