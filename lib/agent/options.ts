/** Options that `AgentServer` and `Agent` share, with the same meaning on both sides. */
import type { Cio } from '../core/types.js'
import type { CioOptions } from '../core/options.js'
import { CioError, codes } from '../errors.js'
import { MAX_TIMER_MS } from '../rpc/validate.js'
import type { AgentLogger } from './events.js'

/** Default milliseconds to complete the handshake: 10 000. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000
/** Default heartbeat interval: 15 000 ms; a dead peer is noticed within two. */
export const DEFAULT_HEARTBEAT_INTERVAL = 15_000

/** What both ends of an agent connection accept. */
export interface AgentCommonOptions {
  /** Default timeout of the calls this side makes (`send`; `sendTo`/`sendAll`), in ms. @default 30000 */
  timeout?: number
  /** Milliseconds a connection has to complete the handshake. @default 10000 */
  handshakeTimeout?: number
  /** Heartbeat interval in ms; a dead peer is noticed within two. 0 turns it off. @default 15000 */
  heartbeatInterval?: number
  /** Receives diagnostics. @default none */
  logger?: AgentLogger
  /** Print diagnostics to stderr. @default false */
  debug?: boolean
  /** Build on this cio instance (to share chains with your own listeners). @default a new one */
  cio?: Cio
  /** Largest frame, in bytes. @default 8388608 */
  maxFrameBytes?: number
  /** Calls one connection may have waiting at once. @default 1024 */
  maxPendingCalls?: number
  /** Calls from the other side answered at once per connection; at the cap the connection stops being read. @default 1024 */
  maxIncomingCalls?: number
  /** Deepest nesting of arrays and objects accepted in a message. @default 256 */
  maxJsonDepth?: number
  /** Largest metadata of one call or answer, in bytes of keys and values. @default 4096 */
  maxMetaBytes?: number
  /** Calls made by hooks inherit the served call's deadline and cancellation; `false` turns that off (and its cost). @default true */
  propagateDeadlines?: boolean
}

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
  if (typeof value !== 'number' || !Number.isFinite(value) || value > MAX_TIMER_MS || (allowZero ? value < 0 : value <= 0)) {
    throw new CioError(codes.INVALID_OPTION, `The "${option}" option must be a number of milliseconds ${allowZero ? '(0 turns it off)' : 'above 0'}, up to ${MAX_TIMER_MS}, got ${String(value)}.`, {
      details: { option },
    })
  }
  return value
}

/**
 * What an agent class does with one of its options: reads it itself
 * (`own`), collects it into the connection's TLS settings (`tls`), or hands
 * it to cio unchanged (`passed`, checked there by the listener that reads
 * it). Each class keeps one table of these, checked with `satisfies`
 * against its options interface, so the table lists exactly its options.
 */
export type OptionRole = 'own' | 'tls' | 'passed'

/** The names a role table gives `role`. */
export function optionsWithRole(table: Readonly<Record<string, OptionRole>>, role: OptionRole): string[] {
  return Object.keys(table).filter((name) => table[name] === role)
}

/** The options among `names` that are set, as cio options (cio's listeners check their values). */
export function passedOptions(options: Readonly<Record<string, unknown>>, names: readonly string[]): CioOptions {
  const passed: Record<string, unknown> = {}
  for (const name of names) if (options[name] !== undefined) passed[name] = options[name]
  return passed as CioOptions
}

/** Default time `drain()` gives the calls in flight: 10 s. */
export const DEFAULT_DRAIN_TIMEOUT = 10_000
