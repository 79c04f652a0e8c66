/**
 * @cgibridge/core: an RFC 3875 (CGI/1.1) gateway for Node.
 * Everything not exported here is internal.
 * @packageDocumentation
 */
export { accessEntry, logAccess } from './access-log.js';
export { createChildProcessSpawner } from './child-process-spawner.js';
export { parseCommandArgs } from './command-args.js';
export { collectHeaders, createCgiEnv, SERVER_SOFTWARE } from './create-env.js';
export { type CgiDebugFacts, DEBUG_OUTPUT_BYTES, DEBUG_STDERR_LINES } from './debug-facts.js';
export { type CgiDebugBody, CgiDebugPage, type CgiDebugPageInput, isScriptFailure } from './debug-page.js';
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
export { type CgiHost, dispatchCgi, publicError } from './dispatch.js';
export { CGI_ERRORS, CgiError, type CgiErrorCode } from './errors.js';
export type { CgiEndEvent, CgiEvent, CgiHeadersEvent, CgiSpawnEvent } from './events.js';
export { type CgiFetchHandler, type CgiFetchOptions, createCgiFetchHandler } from './fetch-handler.js';
export type { CgiFetchInfo } from './fetch-io.js';
export { type CgiFrameworkOptions, createFrameworkGateway, routeLiteralPrefix } from './framework.js';
export { type CgiGateway, createCgiGateway } from './gateway.js';
export { type CgiHandler, type CgiNext, createCgiHandler } from './handler.js';
export {
  type CgiLog,
  type CgiLogFields,
  type CgiLogFormat,
  type CgiLogLevel,
  escapeControls,
  formatJsonLine,
  formatTextLine,
  isPinoLogger,
  LOG_FORMATS,
} from './log.js';
export { type CgiLogger, consoleLogger } from './logger.js';
export {
  acceptExpectContinue,
  type CgiFrameworkView,
  fetchInfoFromNode,
  prepareReentry,
  requestFromNode,
  sendContinue,
  stripMount,
} from './node-request.js';
export { CgiOptionError } from './option-checks.js';
export {
  CGI_OPTIONS,
  type CgiChunkedMode,
  type CgiConfig,
  type CgiForwardedHeaders,
  type CgiOptions,
  type CgiSpawnerMode,
  CHUNKED_MODES,
  FORWARDED_HEADERS,
  SPAWNER_MODES,
} from './options.js';
export {
  type CgiDocumentHead,
  CgiHeaderReader,
  type CgiLocalRedirectHead,
  type CgiResponseHead,
  parseCgiHeaders,
} from './parse-headers.js';
export type { CgiSlot } from './process-pool.js';
export { type PythonRemovedModule, pythonModuleProblem, removedPythonModule } from './removed-modules.js';
export {
  type CgiRedirectChain,
  type CgiRequest,
  type CgiUser,
  localRequest,
  nextRequestId,
  splitTarget,
} from './request.js';
export { type CgiScriptMatch, resolveScript, splitCgiPath } from './resolve-script.js';
export type { CgiDocumentResult, CgiLocalRedirectResult, CgiResult } from './results.js';
export { type CgiRunPhase, MAX_LOCAL_REDIRECTS } from './script-run.js';
export {
  closeAfterOverrun,
  errorBody,
  groupHeaders,
  holdFirstWrite,
  sendCgiError,
  sendCgiResult,
} from './send-result.js';
export type {
  CgiCredentials,
  CgiExit,
  CgiProcess,
  CgiResourceLimits,
  CgiSpawner,
  CgiSpawnOptions,
} from './spawner.js';
