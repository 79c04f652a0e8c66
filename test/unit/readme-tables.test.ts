import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { errorRows, flagRows, optionRows } from '../../scripts/readme-tables.mjs';

const README = readFileSync(new URL('../../packages/core/README.md', import.meta.url), 'utf8');

/** The rows of the Markdown table whose header starts with `header`. */
function table(header: string): string[] {
  const start = README.indexOf(header);
  expect(start, `a table headed ${header}`).toBeGreaterThan(-1);
  const rows: string[] = [];
  for (const line of README.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    rows.push(line);
  }
  return rows;
}

it("the README's option table is the option table (CGI_OPTIONS)", () => {
  expect(table('| option | default | meaning |')).toEqual(optionRows());
});

it("the README's error table is the error registry (CGI_ERRORS)", () => {
  expect(table('| code | status | when |')).toEqual(errorRows());
});

it("the CLI README's flag table is `cgibridge serve --help`", () => {
  const cli = readFileSync(new URL('../../packages/cli/README.md', import.meta.url), 'utf8');
  const start = cli.indexOf('| flag | meaning |');
  const rows = cli
    .slice(start)
    .split('\n')
    .slice(2)
    .filter((_, i, all) => all.slice(0, i + 1).every((line) => line.startsWith('|')));
  expect(rows).toEqual(flagRows());
});
