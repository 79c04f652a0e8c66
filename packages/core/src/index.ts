/**
 * @cgibridge/core: an RFC 3875 (CGI/1.1) gateway for Node.
 * Everything not exported here is internal.
 * @packageDocumentation
 */
export { parseCommandArgs } from './command-args.js';
export { collectHeaders, createCgiEnv, SERVER_SOFTWARE } from './create-env.js';
export { listInheritedDescriptors } from './descriptors.js';
export {
  type CgiDiagnosisCode,
  type CgiEnvCommand,
  type CgiFailureFacts,
  type CgiFileKind,
  type CgiFileProbe,
  type CgiScriptDiagnosis,
  type CgiShebang,
  type CgiShebangContext,
  checkShebang,
  explainScriptFailure,
  findOnPath,
  isBinaryExecutable,
  nodeFileProbe,
  parseShebang,
} from './diagnose-shebang.js';
export { CgiError, type CgiErrorCode } from './errors.js';
export { type CgiFrameworkOptions, createFrameworkGateway, routeLiteralPrefix, topApp } from './framework.js';
export {
  type CgiDocumentResult,
  type CgiGateway,
  type CgiLocalRedirectResult,
  type CgiResult,
  createCgiGateway,
  MAX_LOCAL_REDIRECTS,
} from './gateway.js';
export { type CgiHandler, type CgiNext, createCgiHandler } from './handler.js';
export { type CgiLogger, consoleLogger } from './logger.js';
export {
  type CgiFrameworkView,
  prepareReentry,
  publicError,
  requestFromNode,
  stripMount,
} from './node-request.js';
export type {
  CgiChunkedMode,
  CgiConfig,
  CgiEndEvent,
  CgiEvent,
  CgiHeadersEvent,
  CgiOptions,
  CgiSpawnEvent,
} from './options.js';
export {
  type CgiDocumentHead,
  CgiHeaderReader,
  type CgiLocalRedirectHead,
  type CgiResponseHead,
  parseCgiHeaders,
} from './parse-headers.js';
export { type PythonRemovedModule, pythonModuleProblem, removedPythonModule } from './removed-modules.js';
export { type CgiRequest, type CgiUser, nextRequestId, splitTarget } from './request.js';
export { type CgiScriptMatch, resolveScript, splitCgiPath } from './resolve-script.js';
export { errorBody, groupHeaders, sendCgiError, sendCgiResult } from './send-result.js';
