/**
 * Options of `AgentServer`, their defaults, and the one function that
 * checks them and turns them into what the server needs.
 */
import type { KeyObject } from 'node:crypto'
import type { PeerCertificate, TlsOptions } from 'node:tls'
import type { Socket } from 'node:net'
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HEARTBEAT_INTERVAL, type AgentCommonOptions } from '../options.js'
import { LEGACY_PROTOCOLS } from '../compat.js'
import type { Cio } from '../../core/types.js'
import type { ClusterLink } from '../../cluster/types.js'
import { CioError, codes } from '../../errors.js'
import { checkMs, checkStore, optionsWithRole, passedOptions, resolveLogger, type OptionRole } from '../options.js'
import type { AgentLogger } from '../events.js'
import { secretKey, type Secret } from '../handshake.js'
import { DEFAULT_NAME_FORMAT, parseNameFormat, type NameFormat } from '../names.js'
import { DEFAULT_STORE_TIMEOUT, type DataStore, type StoreDoc } from '../store.js'
import { collectTls, hasTlsMaterial, rejectUnknown } from '../tls.js'
import { DEFAULT_AGENT_PORT } from '../url.js'
import type { CertOptions, CertSource, CioOptions } from '../../core/options.js'
import { DEFAULT_CALL_TIMEOUT } from '../../rpc/options.js'
import { resolveMaxFrameBytes } from '../../frame/decoder.js'
import { DEFAULT_MAX_HANDSHAKE_FRAME_BYTES, DEFAULT_MAX_PENDING_HANDSHAKES } from './admission.js'

/** The transports: plain TCP, or TLS. `ws`/`wss` are websocket-agent's names for them (no WebSocket framing is involved). */
export type AgentProtocol = 'tcp' | 'tls' | 'ws' | 'wss'

export { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HEARTBEAT_INTERVAL } from '../options.js'

/** Options of `new AgentServer(options)`. Only `secret` is required. */
export interface AgentServerOptions extends AgentCommonOptions, CertOptions {
  /** The secret shared with the agents (string, Buffer or secret KeyObject). It never travels. Required. */
  secret: Secret
  /** Port to listen on; 0 picks a free one (read it with `address()` or `ready()`). @default 7788 */
  port?: number
  /** Address to listen on. @default all interfaces */
  host?: string
  /** `AgentServer.TCP` or `AgentServer.TLS` (websocket-agent's `WS`/`WSS` mean the same). @default TLS when a key or certificate is given, else TCP */
  protocol?: AgentProtocol
  /** websocket-agent's name for `key`. */
  privateKey?: CertSource
  /** websocket-agent's name for `cert`. */
  certificate?: CertSource
  /** Passphrase of the key or bundle. */
  passphrase?: string
  /** More options for Node's `tls.createServer` (alias `wssOptions`). */
  tlsOptions?: TlsOptions
  /** websocket-agent's name for `tlsOptions`. */
  wssOptions?: TlsOptions
  /** Ask agents for a client certificate (mutual TLS). @default false */
  requestCert?: boolean
  /** With `requestCert`, refuse agents whose certificate the `ca` did not sign (Node's option; its default is true). @default true */
  rejectUnauthorized?: boolean
  /** Allow-list of client certificates: `(commonName, certificate) => boolean` (cio's core option); only certificates the `ca` verified reach it. */
  isClientAllowed?: (name: string | undefined, peerCertificate: PeerCertificate | undefined) => boolean
  /** What to do with a client the allow-list refused. @default close it */
  rejectClient?: (socket: Socket, name: string | undefined, peerCertificate: PeerCertificate | undefined) => void
  /** Format of new agents' names: a run of `#` is the counter, zero-padded to its length. @default 'A#' */
  agentNameFormat?: string
  /** Keeps the name counter across restarts (`{ counter }`). @default none: counted in memory */
  dataStore?: DataStore<StoreDoc>
  /** Milliseconds the store's `load()` or `save()` may take before it counts as failed. @default 5000 */
  storeTimeout?: number
  /** Do not retry `listen()` when the port is taken. @default false */
  noRelisten?: boolean
  /** Wait before each listen retry, in ms. @default 3000 */
  retryDelay?: number
  /** Listen retries before `error` with `LISTEN_FAILED`. @default 3 */
  maxRetries?: number
  /** Connections accepted but not yet admitted (TLS handshakes included); beyond it new sockets are closed at accept (`TOO_MANY_CONNECTIONS`). @default 2048 */
  maxPendingHandshakes?: number
  /** Largest frame a connection may send before it is admitted, in bytes. @default 4096 */
  maxHandshakeFrameBytes?: number
  /**
   * Share names, `sendTo` and `sendAll` with other agent servers: a link made by
   * `redisCluster()` from `cio/redis`. @default none: this server alone
   */
  cluster?: ClusterLink
}

/** The options once checked. */
export interface ResolvedServerOptions {
  /** The secret, checked; the handshake's HMAC key is derived from it after construction (`deriveHandshakeKey`). */
  secret: KeyObject
  port: number
  host: string | undefined
  secure: boolean
  /** Given to `cio.server()`. */
  serverOptions: CioOptions
  nameFormat: NameFormat
  store: DataStore<StoreDoc> | undefined
  timeout: number
  handshakeTimeout: number
  heartbeatInterval: number
  log: AgentLogger | undefined
  cio: Cio | undefined
  maxPendingHandshakes: number
  maxHandshakeFrameBytes: number
  storeTimeout: number
  /** Plain TCP on an address other machines can reach, without `protocol: 'tcp'` said: warned about. */
  insecure: boolean
  cluster: ClusterLink | undefined
}

/** Every option of `AgentServer` and what becomes of it (see {@link OptionRole}). */
const OPTION_ROLES = {
  secret: 'own', port: 'own', host: 'own', protocol: 'own', tlsOptions: 'own', wssOptions: 'own', agentNameFormat: 'own', dataStore: 'own',
  timeout: 'own', handshakeTimeout: 'own', heartbeatInterval: 'own', logger: 'own', debug: 'own', cio: 'own', cluster: 'own',
  maxPendingHandshakes: 'own', maxHandshakeFrameBytes: 'own', storeTimeout: 'own',
  key: 'tls', cert: 'tls', ca: 'tls', pfx: 'tls', private: 'tls', public: 'tls', root: 'tls', privateKey: 'tls', certificate: 'tls',
  passphrase: 'tls', requestCert: 'tls', rejectUnauthorized: 'tls', isClientAllowed: 'tls', rejectClient: 'tls',
  maxFrameBytes: 'passed', maxPendingCalls: 'passed', maxIncomingCalls: 'passed', maxJsonDepth: 'passed', maxMetaBytes: 'passed', propagateDeadlines: 'passed', noRelisten: 'passed', retryDelay: 'passed', maxRetries: 'passed',
} as const satisfies Record<keyof AgentServerOptions, OptionRole>

const TLS_KEYS = optionsWithRole(OPTION_ROLES, 'tls')
const PASSED = optionsWithRole(OPTION_ROLES, 'passed')
const KNOWN: ReadonlySet<string> = new Set(Object.keys(OPTION_ROLES))

/** Hosts only this machine can reach. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|::ffff:127(\.\d{1,3}){3})$/i

function positiveInteger(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalid(option, `The "${option}" option must be an integer of at least 1, got ${String(value)}.`)
  return value
}

const CIO_PROTOCOLS = { tcp: false, tls: true } as const
/** Transport name to "is TLS", websocket-agent's names included. */
const PROTOCOLS: Readonly<Record<string, boolean>> = {
  ...CIO_PROTOCOLS,
  ...Object.fromEntries(Object.entries(LEGACY_PROTOCOLS).map(([name, cio]) => [name, CIO_PROTOCOLS[cio]])),
}

function invalid(option: string, message: string): CioError {
  return new CioError(codes.INVALID_OPTION, message, { details: { option } })
}

/** Checks the options, applies the defaults; throws `INVALID_OPTION` (or `CERT_READ`) naming the option. */
export function resolveServerOptions(input: unknown): ResolvedServerOptions {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new CioError(codes.INVALID_ARGUMENT, 'new AgentServer(options) needs an options object with at least a "secret".')
  }
  const options = input as Record<string, unknown>
  rejectUnknown(options, KNOWN, 'AgentServer')
  // Checked now, derived later (deriveHandshakeKey): the constructor must not block on scrypt.
  const secret = secretKey(options.secret)
  const { port = DEFAULT_AGENT_PORT, host, protocol, cio } = options
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) throw invalid('port', `The "port" option must be an integer from 0 to 65535, got ${String(port)}.`)
  if (host !== undefined && (typeof host !== 'string' || host === '')) throw invalid('host', 'The "host" option must be a non-empty string.')
  if (protocol !== undefined && (typeof protocol !== 'string' || !Object.hasOwn(PROTOCOLS, protocol.toLowerCase()))) {
    throw invalid('protocol', `The "protocol" option must be AgentServer.TCP, AgentServer.TLS, or websocket-agent's WS/WSS, got ${JSON.stringify(protocol) ?? String(protocol)}.`)
  }
  if (cio !== undefined && (typeof cio !== 'object' || cio === null || typeof (cio as Cio).server !== 'function')) throw invalid('cio', 'The "cio" option must be a cio instance made by buildCio().')
  const cluster = options.cluster
  if (cluster !== undefined && (typeof cluster !== 'object' || cluster === null || typeof (cluster as ClusterLink).attach !== 'function')) {
    throw invalid('cluster', 'The "cluster" option must be a cluster link made by redisCluster() from cio/redis.')
  }
  const tls = collectTls(options, TLS_KEYS)
  const material = hasTlsMaterial(tls, false)
  const secure = protocol === undefined ? material : (PROTOCOLS[protocol.toLowerCase()] as boolean)
  if (!secure && material) throw invalid('protocol', `The "protocol" option is ${String(protocol)}, but certificate options are given: use AgentServer.TLS, or drop the certificates.`)
  if (secure && tls.pfx === undefined && (tls.key === undefined || tls.cert === undefined)) {
    throw invalid('protocol', 'A TLS agent server needs "key" and "cert" (or "privateKey" and "certificate", or "pfx").')
  }
  const timeout = checkMs(options.timeout, 'timeout', DEFAULT_CALL_TIMEOUT)
  const handshakeTimeout = checkMs(options.handshakeTimeout, 'handshakeTimeout', DEFAULT_HANDSHAKE_TIMEOUT)
  const serverOptions: CioOptions = { ...tls, secure, callTimeout: timeout, ...passedOptions(options, PASSED) }
  // The TLS handshake, which comes before the agent's, gets the same bound
  // (the deadline from accept in admission.ts enforces it; Node's own
  // timeout only reports). Both ends are cio: TLS 1.3 unless lowered in tlsOptions.
  if (secure && serverOptions.handshakeTimeout === undefined) serverOptions.handshakeTimeout = handshakeTimeout
  if (secure && serverOptions.minVersion === undefined) serverOptions.minVersion = 'TLSv1.3'
  const maxHandshakeFrameBytes = resolveMaxFrameBytes(options.maxHandshakeFrameBytes ?? DEFAULT_MAX_HANDSHAKE_FRAME_BYTES)
  return {
    secret,
    port,
    host: host as string | undefined,
    secure,
    serverOptions,
    nameFormat: parseNameFormat(options.agentNameFormat ?? DEFAULT_NAME_FORMAT),
    store: checkStore<DataStore<StoreDoc>>(options.dataStore),
    timeout,
    handshakeTimeout,
    heartbeatInterval: checkMs(options.heartbeatInterval, 'heartbeatInterval', DEFAULT_HEARTBEAT_INTERVAL, true),
    log: resolveLogger(options.logger, options.debug, 'cio agent-server'),
    cio: cio as Cio | undefined,
    maxPendingHandshakes: positiveInteger(options.maxPendingHandshakes, 'maxPendingHandshakes', DEFAULT_MAX_PENDING_HANDSHAKES),
    maxHandshakeFrameBytes,
    storeTimeout: checkMs(options.storeTimeout, 'storeTimeout', DEFAULT_STORE_TIMEOUT),
    insecure: !secure && protocol === undefined && !(typeof host === 'string' && LOOPBACK.test(host)),
    cluster: cluster as ClusterLink | undefined,
  }
}
