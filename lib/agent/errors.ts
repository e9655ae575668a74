/**
 * What `AgentServer` and `Agent` share about errors and diagnostics: the
 * error codes they expose as static constants (the seed's way of testing
 * them, `err == Agent.TIMEOUT`), a base class carrying those constants, and
 * the logger both classes use, which prints nothing unless asked.
 */
import { EventEmitter } from 'node:events'
import { CioError, codes, describeError } from '../errors.js'

/**
 * The codes an agent or an agent server can reject or emit with. The first
 * eleven are the seed's; the others are cio's additions.
 */
export const agentCodes = {
  TIMEOUT: codes.TIMEOUT,
  UNKNOWN_ACTION: codes.UNKNOWN_ACTION,
  OFFLINE: codes.OFFLINE,
  UNKNOWN_AGENT: codes.UNKNOWN_AGENT,
  NO_CONNECTED_AGENTS: codes.NO_CONNECTED_AGENTS,
  AGENT_NOT_CONNECTED: codes.AGENT_NOT_CONNECTED,
  WRONG_SECRET: codes.WRONG_SECRET,
  DUPLICATE_ID: codes.DUPLICATE_ID,
  NOT_AUTHORIZED: codes.NOT_AUTHORIZED,
  INVALID_MESSAGE: codes.INVALID_MESSAGE,
  INTERNAL_ERROR: codes.INTERNAL_ERROR,
  DISCONNECTED: codes.DISCONNECTED,
  HANDSHAKE_TIMEOUT: codes.HANDSHAKE_TIMEOUT,
  HEARTBEAT_TIMEOUT: codes.HEARTBEAT_TIMEOUT,
  SEND_ALL_FAILED: codes.SEND_ALL_FAILED,
  STORE_FAILED: codes.STORE_FAILED,
  CLOSED: codes.CLOSED,
  LISTEN_FAILED: codes.LISTEN_FAILED,
  INVALID_OPTION: codes.INVALID_OPTION,
  INVALID_ARGUMENT: codes.INVALID_ARGUMENT,
  CLUSTER_UNAVAILABLE: codes.CLUSTER_UNAVAILABLE,
  NODE_LOST: codes.NODE_LOST,
} as const

/** One of the {@link agentCodes}. */
export type AgentErrorCode = (typeof agentCodes)[keyof typeof agentCodes]

/**
 * A typed event emitter with the agent error codes as static constants, the
 * base of `AgentServer` and `Agent`, so `AgentServer.TIMEOUT` and
 * `Agent.TIMEOUT` are both `'TIMEOUT'`.
 */
export class CodedEmitter<Events extends Record<keyof Events, unknown[]>> extends EventEmitter<Events> {
  static readonly TIMEOUT = codes.TIMEOUT
  static readonly UNKNOWN_ACTION = codes.UNKNOWN_ACTION
  static readonly OFFLINE = codes.OFFLINE
  static readonly UNKNOWN_AGENT = codes.UNKNOWN_AGENT
  static readonly NO_CONNECTED_AGENTS = codes.NO_CONNECTED_AGENTS
  static readonly AGENT_NOT_CONNECTED = codes.AGENT_NOT_CONNECTED
  static readonly WRONG_SECRET = codes.WRONG_SECRET
  static readonly DUPLICATE_ID = codes.DUPLICATE_ID
  static readonly NOT_AUTHORIZED = codes.NOT_AUTHORIZED
  static readonly INVALID_MESSAGE = codes.INVALID_MESSAGE
  static readonly INTERNAL_ERROR = codes.INTERNAL_ERROR
  static readonly DISCONNECTED = codes.DISCONNECTED
  static readonly HANDSHAKE_TIMEOUT = codes.HANDSHAKE_TIMEOUT
  static readonly HEARTBEAT_TIMEOUT = codes.HEARTBEAT_TIMEOUT
  static readonly SEND_ALL_FAILED = codes.SEND_ALL_FAILED
  static readonly STORE_FAILED = codes.STORE_FAILED
  static readonly CLOSED = codes.CLOSED
  static readonly LISTEN_FAILED = codes.LISTEN_FAILED
  static readonly CLUSTER_UNAVAILABLE = codes.CLUSTER_UNAVAILABLE
  static readonly NODE_LOST = codes.NODE_LOST
}

/**
 * Receives the diagnostics of an agent or agent server: one sentence and,
 * sometimes, facts about it. Never called unless a `logger` is given or
 * `debug` is true.
 */
export type AgentLogger = (message: string, details?: Record<string, unknown>) => void

/** The logger in force: the given one, `console.error` with a prefix for `debug: true`, else none. */
export function resolveLogger(logger: unknown, debug: unknown, prefix: string): AgentLogger | undefined {
  if (logger !== undefined && typeof logger !== 'function') {
    throw new CioError(codes.INVALID_OPTION, `The "logger" option must be a function (message, details), got ${typeof logger}.`, { details: { option: 'logger' } })
  }
  if (debug !== undefined && typeof debug !== 'boolean') {
    throw new CioError(codes.INVALID_OPTION, `The "debug" option must be a boolean, got ${typeof debug}.`, { details: { option: 'debug' } })
  }
  if (typeof logger === 'function') return logger as AgentLogger
  if (debug === true) return (message, details) => console.error(`[${prefix}] ${message}`, ...(details === undefined ? [] : [details]))
  return undefined
}

/**
 * Emits `error` only when someone listens: an `error` event without a
 * listener would throw and could take the process down, which cio never
 * does. The error is logged either way.
 */
export function emitError(emitter: EventEmitter, error: CioError, log: AgentLogger | undefined): void {
  log?.(`error ${error.code}: ${error.message}`)
  if (emitter.listenerCount('error') === 0) return
  try {
    emitter.emit('error', error)
  } catch (cause) {
    // Emitted from cio's callbacks: a throwing listener must not escape into them.
    log?.(`an "error" listener threw: ${describeError(cause)}`)
  }
}

/**
 * Emits an event from inside cio's own callbacks (promise reactions, socket
 * events). A listener that throws is reported as an `error` event with
 * `INTERNAL_ERROR` instead of surfacing as an unhandled rejection or an
 * uncaught exception in cio's code.
 */
export function emitSafely(emitter: EventEmitter, event: string, args: unknown[], log: AgentLogger | undefined): void {
  try {
    emitter.emit(event, ...args)
  } catch (cause) {
    emitError(emitter, new CioError(codes.INTERNAL_ERROR, `A "${event}" listener threw: ${describeError(cause)}`, { cause, details: { event } }), log)
  }
}

/** Wraps anything a data store threw as `STORE_FAILED` (a store's own STORE_FAILED is kept). */
export function storeError(action: 'load' | 'save', cause: unknown, owner: string): CioError {
  if (cause instanceof CioError && cause.code === codes.STORE_FAILED) return cause
  return new CioError(codes.STORE_FAILED, `The ${owner}'s data store failed to ${action}: ${describeError(cause)}.`, { cause, details: { action } })
}

/** Checks a `dataStore` option: an object with `save` and `load` functions, or nothing. */
export function checkStore<S>(store: unknown): S | undefined {
  if (store === undefined) return undefined
  const candidate = store as { save?: unknown; load?: unknown } | null
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.save !== 'function' || typeof candidate.load !== 'function') {
    throw new CioError(codes.INVALID_OPTION, 'The "dataStore" option must be an object with save(doc) and load() methods that return promises (FileStore, MemoryStore or your own).', {
      details: { option: 'dataStore' },
    })
  }
  return store as S
}

/** Checks a number of milliseconds: above 0 and no more than setTimeout honours. */
export function checkMs(value: unknown, option: string, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value > 0x7fff_ffff || (allowZero ? value < 0 : value <= 0)) {
    throw new CioError(codes.INVALID_OPTION, `The "${option}" option must be a number of milliseconds ${allowZero ? '(0 turns it off)' : 'above 0'}, up to 2147483647, got ${String(value)}.`, {
      details: { option },
    })
  }
  return value
}
