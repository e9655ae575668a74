/**
 * cio: raw TCP and TLS servers and clients whose sockets run through ordered
 * listener chains. `import buildCio from 'cio'`.
 */
export { buildCio, buildCio as default } from './builder.js'
export type { Cio, ListenerInput } from './builder.js'
export type { CioOptions, CertSource, CertValue } from './options.js'
export type { BaseContext, ServerContext, ClientContext, ServerClientContext, SocketContext } from './context.js'
export { socketOf } from './context.js'
export type { CioServer, CioServerEvents } from './server-events.js'
export { CioError, codes, isCioError } from './errors.js'
export type { CioErrorCode, CioErrorDetails, CioErrorOptions } from './errors.js'
export { ChainError } from './chain-error.js'
export { Chain, buildChain } from './chain.js'
export type { Listener, ListenerOptions, Control, Pause, RunResult, RunOptions, ChainOptions, Outcome, FailedOutcome } from './chain.js'
export { order } from './order.js'
export { generateCerts, writeCerts } from './certs.js'
export type { CertSet, CertFiles, KeyPair, GenerateCertsOptions } from './certs.js'
export { isPem, readCertValue } from './cert-values.js'
export { CERT_ALIASES, mergeOptions } from './option-aliases.js'
export { wantsTls } from '../listeners/secure.js'
export { RELISTEN_DEFAULTS } from '../listeners/relistener.js'
export { BUILTIN_LISTENER_MODULES } from './load-listener.js'
