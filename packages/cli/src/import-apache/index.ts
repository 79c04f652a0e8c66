import { parseArgs } from 'node:util';
import { readApacheConfig } from './evaluate.js';
import { renderConfig, renderReport } from './render.js';
import { translate } from './translate.js';

export { type ApacheConfig, readApacheConfig } from './evaluate.js';
export { type Translation, translate } from './translate.js';

/** The text of `cgibridge import-apache --help`. */
export const IMPORT_APACHE_USAGE = `Usage: cgibridge import-apache <file> [options]

Reads the CGI directives of an Apache httpd config (and the files it Includes) and prints the
equivalent cgibridge.config.json, an Express snippet, what could not be translated (file:line and
why) and the behaviour differences to know.

Options:
  --json                       print only the config (one mount: the options object; several: {"mounts": [...]})
  --define <NAME[=VALUE]>      define NAME, as httpd -D does (for <IfDefine> and \${NAME}) (repeatable)
  --server-root <dir>          where relative Include paths start (default: ServerRoot, else the including file's directory)
  -h, --help                   show this help`;

/** A usage problem: exit 2. */
class ImportUsageError extends Error {}

const OPTIONS = {
  json: { type: 'boolean' },
  define: { type: 'string', multiple: true, short: 'D' },
  'server-root': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseRaw(argv: readonly string[]) {
  return parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
}

function parse(argv: readonly string[]) {
  let parsed: ReturnType<typeof parseRaw>;
  try {
    parsed = parseRaw(argv);
  } catch (error) {
    throw new ImportUsageError(((error as Error).message.split('\n')[0] ?? '').replace(/\. .*$/, ''));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help' as const;
  if (positionals.length !== 1)
    throw new ImportUsageError('import-apache needs one config file: cgibridge import-apache <file>');
  const defines = new Map(
    (values.define ?? []).map((item) => {
      const eq = item.indexOf('=');
      return eq === -1 ? [item, ''] : [item.slice(0, eq), item.slice(eq + 1)];
    }),
  );
  return { file: positionals[0] as string, json: values.json === true, defines, serverRoot: values['server-root'] };
}

/**
 * `cgibridge import-apache ...` (argv after the word `import-apache`).
 * @returns the exit status: 0 translated (even partly), 1 the file cannot be read, 2 usage.
 */
export async function importApacheMain(argv: readonly string[]): Promise<number> {
  let command: ReturnType<typeof parse>;
  try {
    command = parse(argv);
  } catch (error) {
    if (!(error instanceof ImportUsageError)) throw error;
    process.stderr.write(`cgibridge: ${error.message}\n\n${IMPORT_APACHE_USAGE}\n`);
    return 2;
  }
  if (command === 'help') {
    process.stdout.write(`${IMPORT_APACHE_USAGE}\n`);
    return 0;
  }
  let translation: ReturnType<typeof translate>;
  try {
    translation = translate(readApacheConfig(command.file, command));
  } catch (error) {
    process.stderr.write(`cgibridge: cannot read ${command.file}: ${(error as Error).message}\n`);
    return 1;
  }
  process.stdout.write(command.json ? renderConfig(translation) : renderReport(translation));
  return 0;
}
