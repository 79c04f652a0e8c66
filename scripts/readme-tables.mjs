#!/usr/bin/env node
// Prints the option and error tables of packages/core/README.md and the flag table of
// packages/cli/README.md from the registries they document (CGI_OPTIONS, CGI_ERRORS, the CLI's
// flag table); test/unit/readme-tables.test.ts checks the READMEs against the same rows. Run after `npm run build`: node scripts/readme-tables.mjs
import { CGI_ERRORS, CGI_OPTIONS } from '@cgibridge/core';
import { serveFlags } from 'cgibridge';

export function optionRows() {
  return Object.entries(CGI_OPTIONS).map(([name, spec]) => `| \`${name}\` | ${spec.default} | ${spec.summary} |`);
}

export function errorRows() {
  return Object.entries(CGI_ERRORS).map(([code, entry]) => `| \`${code}\` | ${entry.status} | ${entry.when} |`);
}

export function flagRows() {
  const cell = (text) => text.replaceAll('|', '\\|');
  return serveFlags().map(({ flag, arg, help }) => `| \`${cell(`${flag}${arg ? ` ${arg}` : ''}`)}\` | ${cell(help)} |`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log('| option | default | meaning |\n| --- | --- | --- |');
  console.log(optionRows().join('\n'));
  console.log('\n| code | status | when |\n| --- | --- | --- |');
  console.log(errorRows().join('\n'));
  console.log('\n| flag | meaning |\n| --- | --- |');
  console.log(flagRows().join('\n'));
}
