/**
 * What the tests, the benchmarks and the `cio` command use beyond the public
 * entry: helpers whose shape may change between releases. Not part of the
 * package's exports.
 */
export * from './index.js'
export { CERT_ALIASES, mergeOptions, moveCertAliases } from './core/aliases.js'
export { BUILTIN_LISTENER_MODULES } from './core/load-listener.js'
export { socketOf } from './core/types.js'
export { isPem, readCertValue } from './tls/cert-values.js'
export { FrameDecoder, FRAME_HEADER_BYTES } from './frame/decoder.js'
export type { FrameSink } from './frame/decoder.js'
export { encodeFrame } from './frame/encoder.js'
export { wantsTls } from '../listeners/secure.js'
export { RELISTEN_DEFAULTS } from '../listeners/relistener.js'
export { default } from './index.js'
