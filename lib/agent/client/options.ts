/**
 * Options of `Agent`, their defaults, and the one function that checks them
 * and turns them into what the agent needs.
 */
import type { KeyObject } from 'node:crypto'
import type { ConnectionOptions } from 'node:tls'
import type { Cio } from '../../core/types.js'
import { CioError, codes } from '../../errors.js'
import { checkMs, checkStore, optionsWithRole, passedOptions, resolveLogger, type OptionRole } from '../options.js'
import type { AgentLogger } from '../events.js'
import { secretKey, type Secret } from '../handshake.js'
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HEARTBEAT_INTERVAL, type AgentCommonOptions } from '../options.js'
import type { DataStore, StoreDoc } from '../store.js'
import { collectTls, hasTlsMaterial, rejectUnknown } from '../tls.js'
import { parseAgentHost, type AgentAddress } from '../url.js'
import { resolveBackoff, type BackoffOptions } from '../backoff.js'
import type { CertOptions, CioOptions } from '../../core/options.js'
import { DEFAULT_CALL_TIMEOUT } from '../../rpc/options.js'

/** Options of `new Agent(options)`. `host` and `secret` are required. */
export interface AgentOptions extends AgentCommonOptions, CertOptions {
  /**
   * Where the server is: `host:port`, `tcp://host:port`, `tls://host:port`,
   * or websocket-agent's `http://` (TCP) and `https://` (TLS). Without a scheme,
   * TLS is used when a certificate option is given. The port defaults to 7788.
   * A list of them (several servers of one cluster): the agent starts at a
   * random entry and moves to the next one on each reconnect.
   */
  host: string | readonly string[]
  /** The secret shared with the server (string, Buffer or secret KeyObject). It never travels. Required. */
  secret: Secret
  /** Keeps the agent's name across restarts (`{ name }`). @default none: a restarted agent gets a new name */
  dataStore?: DataStore<StoreDoc>
  /** Passphrase of the key or bundle. */
  passphrase?: string
  /** Verify the server's certificate. @default true */
  rejectUnauthorized?: boolean
  /** Name expected in the server's certificate (SNI). @default the host */
  servername?: string
  /** More options for Node's `tls.connect`. */
  tlsOptions?: ConnectionOptions
  /** Reconnect backoff (`initialDelay` 100 ms, `factor` 2, `maxDelay` 5000 ms), or `false` not to reconnect. @default the backoff above */
  reconnect?: BackoffOptions | boolean
  /** Stop for good after `WRONG_SECRET` instead of retrying at the longest backoff. @default false */
  stopOnWrongSecret?: boolean
}

/** The options once checked. */
export interface ResolvedAgentOptions {
  /** The secret, checked; the handshake's HMAC key is derived from it after construction (`deriveHandshakeKey`). */
  secret: KeyObject
  /** The first server (the only one unless `host` is a list). */
  address: AgentAddress
  /** Every server `host` names, in order. */
  addresses: AgentAddress[]
  /** Given to `cio.client()`. */
  clientOptions: CioOptions
  store: DataStore<StoreDoc> | undefined
  timeout: number
  /** The backoff, or undefined not to reconnect. */
  reconnect: Required<BackoffOptions> | undefined
  handshakeTimeout: number
  heartbeatInterval: number
  log: AgentLogger | undefined
  cio: Cio | undefined
  stopOnWrongSecret: boolean
}

/** Every option of `Agent` and what becomes of it (see {@link OptionRole}). */
const OPTION_ROLES = {
  host: 'own', secret: 'own', dataStore: 'own', tlsOptions: 'own', timeout: 'own', reconnect: 'own', handshakeTimeout: 'own', heartbeatInterval: 'own',
  logger: 'own', debug: 'own', cio: 'own', stopOnWrongSecret: 'own',
  key: 'tls', cert: 'tls', ca: 'tls', pfx: 'tls', private: 'tls', public: 'tls', root: 'tls', passphrase: 'tls', rejectUnauthorized: 'tls', servername: 'tls',
  maxFrameBytes: 'passed', maxPendingCalls: 'passed', maxIncomingCalls: 'passed', maxJsonDepth: 'passed', maxMetaBytes: 'passed', propagateDeadlines: 'passed',
} as const satisfies Record<keyof AgentOptions, OptionRole>

const TLS_KEYS = optionsWithRole(OPTION_ROLES, 'tls')
const PASSED = optionsWithRole(OPTION_ROLES, 'passed')
const KNOWN: ReadonlySet<string> = new Set(Object.keys(OPTION_ROLES))

function checkBoolean(value: unknown, option: string): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw new CioError(codes.INVALID_OPTION, `The "${option}" option must be a boolean, got ${typeof value}.`, { details: { option } })
  return value
}
/** Most servers one agent may list in `host`. */
const MAX_HOSTS = 64

/** Checks the options, applies the defaults; throws `INVALID_OPTION` (or `CERT_READ`) naming the option. */
export function resolveAgentOptions(input: unknown): ResolvedAgentOptions {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new CioError(codes.INVALID_ARGUMENT, 'new Agent(options) needs an options object with at least "host" and "secret".')
  }
  const options = input as Record<string, unknown>
  rejectUnknown(options, KNOWN, 'Agent')
  if (options.host === undefined) throw new CioError(codes.INVALID_OPTION, 'The "host" option is required: where the agent server is, e.g. "tls://example.com:7788".', { details: { option: 'host' } })
  // Checked now, derived later (deriveHandshakeKey): the constructor must not block on scrypt.
  const secret = secretKey(options.secret)
  const tls = collectTls(options, TLS_KEYS)
  const material = hasTlsMaterial(tls, true)
  const hosts: unknown[] = Array.isArray(options.host) ? options.host : [options.host]
  if (hosts.length === 0 || hosts.length > MAX_HOSTS) throw new CioError(codes.INVALID_OPTION, `The "host" option must be a server address or a list of 1 to ${MAX_HOSTS} of them.`, { details: { option: 'host' } })
  const addresses = hosts.map((host) => {
    const address = parseAgentHost(host, 'host', material)
    if (!address.secure && material) {
      throw new CioError(codes.INVALID_OPTION, `The "host" option ${JSON.stringify(host)} asks for plain TCP, but certificate options are given: use tls:// (or https://), or drop the certificates.`, {
        details: { option: 'host', conflictsWith: 'ca' },
      })
    }
    return address
  })
  const address = addresses[0] as AgentAddress
  const { reconnect = true, cio } = options
  if (typeof reconnect !== 'boolean' && (typeof reconnect !== 'object' || reconnect === null || Array.isArray(reconnect))) {
    throw new CioError(codes.INVALID_OPTION, 'The "reconnect" option must be false, true, or backoff settings { initialDelay, factor, maxDelay }.', { details: { option: 'reconnect' } })
  }
  if (cio !== undefined && (typeof cio !== 'object' || cio === null || typeof (cio as Cio).client !== 'function')) {
    throw new CioError(codes.INVALID_OPTION, 'The "cio" option must be a cio instance made by buildCio().', { details: { option: 'cio' } })
  }
  const timeout = checkMs(options.timeout, 'timeout', DEFAULT_CALL_TIMEOUT)
  const clientOptions: CioOptions = { ...tls, host: address.host, port: address.port, secure: address.secure, callTimeout: timeout, ...passedOptions(options, PASSED) }
  // Both ends are cio: TLS 1.3 unless lowered in tlsOptions.
  if (address.secure && clientOptions.minVersion === undefined) clientOptions.minVersion = 'TLSv1.3'
  return {
    secret,
    address,
    addresses,
    clientOptions,
    store: checkStore<DataStore<StoreDoc>>(options.dataStore),
    timeout,
    reconnect: reconnect === false ? undefined : resolveBackoff(reconnect === true ? {} : (reconnect as BackoffOptions), 'reconnect.'),
    handshakeTimeout: checkMs(options.handshakeTimeout, 'handshakeTimeout', DEFAULT_HANDSHAKE_TIMEOUT),
    heartbeatInterval: checkMs(options.heartbeatInterval, 'heartbeatInterval', DEFAULT_HEARTBEAT_INTERVAL, true),
    log: resolveLogger(options.logger, options.debug, 'cio agent'),
    cio: cio as Cio | undefined,
    stopOnWrongSecret: checkBoolean(options.stopOnWrongSecret, 'stopOnWrongSecret'),
  }
}
