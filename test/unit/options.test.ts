import { createCgiHandler } from '@cgibridge/core';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../support/fixtures.js';

const root = FIXTURES;

describe('option validation', () => {
  it.each([
    [{}, /exactly one of the options "root" \(a directory\) and "script" \(a file\)/],
    [{ root, script: `${root}/hello.sh` }, /exactly one of the options "root"/],
    [{ root: '/no/such/dir' }, /option "root" must be an existing directory/],
    [{ root: `${root}/hello.sh` }, /option "root" must be a directory/],
    [{ script: root }, /option "script" must be a file/],
    [{ root, mountPath: 'cgi-bin' }, /option "mountPath" must be a URL path starting with "\/"/],
    [{ root, mountPath: '/cgi-bin/../x' }, /option "mountPath"/],
    [{ root, mountPath: '/a b' }, /option "mountPath"/],
    [
      { root, interpreters: { py: 'python3' } },
      /option "interpreters\["py"\]" must be keyed by an extension like "\.py"/,
    ],
    [
      { root, interpreters: { '.py': '' } },
      /option "interpreters\["\.py"\]" must be a command string or a non-empty array/,
    ],
    [{ root, interpreters: { '.py': [] } }, /option "interpreters\["\.py"\]"/],
    [{ root, interpreters: 'python3' }, /option "interpreters" must be an object/],
    [{ root, index: 'index.cgi' }, /option "index" must be a list of file names/],
    [{ root, index: ['../x'] }, /option "index"/],
    [{ root, env: { A: 1 } }, /option "env" must be an object of string values, or a function/],
    [{ root, inheritEnv: ['A B'] }, /option "inheritEnv" must be a list of variable names/],
    [{ root, passAuthorization: 'yes' }, /option "passAuthorization" must be true or false/],
    [
      { root, trustProxy: ['not-an-ip'] },
      /option "trustProxy" must be true, false, a function, or a list of IP addresses/,
    ],
    [{ root, trustProxy: ['10.0.0.0/33'] }, /option "trustProxy"/],
    [{ root, timeout: 0 }, /option "timeout" must be an integer >= 1 \(milliseconds\) or Infinity \(got 0\)/],
    [{ root, timeout: '30s' }, /option "timeout"/],
    [{ root, killGrace: -1 }, /option "killGrace" must be an integer >= 0 \(milliseconds\)/],
    [{ root, maxConcurrent: 1.5 }, /option "maxConcurrent" must be an integer >= 1 \(scripts\) or Infinity/],
    [{ root, maxRequestBody: '10mb' }, /option "maxRequestBody" must be an integer >= 0 \(bytes\) or Infinity/],
    [{ root, chunkedRequests: 'drop' }, /option "chunkedRequests" must be "buffer", "stream" or "reject"/],
    [{ root, maxResponseHeaderBytes: 8 }, /option "maxResponseHeaderBytes" must be an integer >= 16/],
    [{ root, localRedirects: 1 }, /option "localRedirects" must be true or false/],
    [{ root, commandArgs: 'on' }, /option "commandArgs"/],
    [{ root, nph: null }, /option "nph"/],
    [{ root, logger: console.log }, /option "logger" must be false or an object with debug, info, warn and error/],
    [{ root, logFormat: 'xml' }, /option "logFormat" must be "text", "json" or "pino"/],
    [{ root, accessLog: 'yes' }, /option "accessLog" must be true or false/],
    [{ root, debug: 1 }, /option "debug" must be true or false/],
    [{ root, documentRoot: '/no/such' }, /option "documentRoot" must be an existing directory/],
    [{ root, onEvent: 'log' }, /option "onEvent" must be a function/],
    [{ root, timeOut: 5 }, /unknown option "timeOut" \(known: root, script, mountPath/],
  ])('throws a TypeError naming the option for %j', (options, message) => {
    expect(() => createCgiHandler(options as never)).toThrow(TypeError);
    expect(() => createCgiHandler(options as never)).toThrow(message);
  });

  it('accepts every documented option', () => {
    const handler = createCgiHandler({
      root,
      mountPath: '/cgi-bin/',
      interpreters: { '.py': 'python3', '.pl': ['perl', '-T'] },
      index: ['index.cgi'],
      env: () => ({}),
      inheritEnv: ['HOME'],
      passAuthorization: true,
      trustProxy: ['127.0.0.1', '::1', '10.0.0.0/8', 'fd00::/8'],
      timeout: Number.POSITIVE_INFINITY,
      killGrace: 0,
      maxConcurrent: 4,
      maxRequestBody: Number.POSITIVE_INFINITY,
      chunkedRequests: 'stream',
      maxResponseHeaderBytes: 1024,
      localRedirects: false,
      commandArgs: true,
      nph: true,
      logger: false,
      logFormat: 'json',
      accessLog: true,
      debug: true,
      documentRoot: root,
      onEvent: () => {},
    });
    expect(handler.gateway.config.mountPath).toBe('/cgi-bin');
    expect(handler.name).toBe('cgiHandler');
  });
});
