/**
 * Options of RPC peers and of single calls, with their defaults and the one
 * function that checks them. The same names are read from cio options by
 * the `cio/rpc` listener, so they can be given to `buildCio()`,
 * `cio.server()` or `cio.client()`.
 */
import { CioError, codes } from '../errors.js'
import { RpcHandlers } from './handlers.js'
import { isValidTimeout, TIMEOUT_RULE } from './validate.js'
import { DEFAULT_MAX_META_BYTES } from './meta.js'
import { checkInterceptorsOption, type InterceptorSet, type Interceptors } from './interceptors.js'

export type { CallOptions } from './types.js'

/** Default time a call waits for its response: 30 000 ms (30 s). */
export const DEFAULT_CALL_TIMEOUT = 30_000

export { DEFAULT_MAX_META_BYTES } from './meta.js'

/** Default cap on the calls one peer may have waiting at once: 1024. */
export const DEFAULT_MAX_PENDING_CALLS = 1024

/** Default cap on the requests one peer answers at once: 1024. */
export const DEFAULT_MAX_INCOMING_CALLS = 1024

/** Options of an RPC peer; all optional. */
export interface RpcPeerOptions {
  /**
   * Registries shared with other peers, consulted (in this order) before
   * the peer's own `handlers`. On a server, give one registry here and
   * every server client answers with it.
   * @default none
   */
  handlers?: RpcHandlers | readonly RpcHandlers[]
  /**
   * Milliseconds a call waits for its response before failing with
   * `TIMEOUT`. There is no "wait forever": a peer that stops answering
   * without closing would otherwise pin the call for good. Overridden per
   * call by `timeout`.
   * @default 30000
   */
  callTimeout?: number
  /**
   * Calls one peer may have waiting at once; one more fails at once with
   * `TOO_MANY_PENDING`. Bounds the memory a slow or silent peer can pin.
   * @default 1024
   */
  maxPendingCalls?: number
  /**
   * Largest metadata of one request or answer, in bytes of keys and values
   * (UTF-8). A call with more is refused with `INVALID_ARGUMENT`; an
   * incoming request with more is answered with `INVALID_ARGUMENT`.
   * @default 4096
   */
  maxMetaBytes?: number
  /**
   * Interceptors shared by every peer of the chain (a server's connections),
   * outside each peer's own `use()`: `{ call, handle }`.
   * @default none
   */
  interceptors?: Interceptors
  /**
   * Requests from the other side this peer answers at once. At the cap the
   * connection stops being read until one is answered, so a peer that
   * pipelines calls to a slow handler holds at most this many.
   * @default 1024
   */
  maxIncomingCalls?: number
  /**
   * Calls made by this peer's handlers (and by code they await) inherit the
   * served call's remaining time and cancellation. `false` turns that off
   * for this peer: its async handlers then run without `AsyncLocalStorage`,
   * whose async hook costs every promise of the process on Node 20 once on.
   * @default true
   */
  propagateDeadlines?: boolean
}

/** {@link RpcPeerOptions} with defaults applied. */
export interface ResolvedRpcOptions {
  handlers: readonly RpcHandlers[]
  callTimeout: number
  maxPendingCalls: number
  maxIncomingCalls: number
  maxMetaBytes: number
  propagateDeadlines: boolean
  interceptors: InterceptorSet | undefined
}

/** The interceptor set made for each `interceptors` option object, so the peers of one server share it. */
const interceptorSets = new WeakMap<object, InterceptorSet | undefined>()

function resolveInterceptors(value: unknown): InterceptorSet | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'object' && value !== null && interceptorSets.has(value)) return interceptorSets.get(value)
  const set = checkInterceptorsOption(value)
  if (typeof value === 'object' && value !== null) interceptorSets.set(value, set)
  return set
}

/**
 * Applies defaults and checks types and ranges.
 * @throws CioError `INVALID_OPTION` naming the option.
 */
export function resolveRpcOptions(options: RpcPeerOptions): ResolvedRpcOptions {
  const {
    handlers, callTimeout = DEFAULT_CALL_TIMEOUT, maxPendingCalls = DEFAULT_MAX_PENDING_CALLS, maxIncomingCalls = DEFAULT_MAX_INCOMING_CALLS, maxMetaBytes = DEFAULT_MAX_META_BYTES,
    propagateDeadlines = true,
  } = options
  const list: unknown[] = handlers === undefined ? [] : Array.isArray(handlers) ? handlers : [handlers]
  if (!list.every((item) => item instanceof RpcHandlers)) {
    throw invalid('handlers', 'an RpcHandlers registry or an array of them', handlers)
  }
  if (!isValidTimeout(callTimeout)) {
    throw invalid('callTimeout', TIMEOUT_RULE, callTimeout)
  }
  if (typeof maxPendingCalls !== 'number' || !Number.isInteger(maxPendingCalls) || maxPendingCalls < 1) {
    throw invalid('maxPendingCalls', 'an integer of at least 1', maxPendingCalls)
  }
  if (typeof maxIncomingCalls !== 'number' || !Number.isInteger(maxIncomingCalls) || maxIncomingCalls < 1) {
    throw invalid('maxIncomingCalls', 'an integer of at least 1', maxIncomingCalls)
  }
  if (typeof maxMetaBytes !== 'number' || !Number.isInteger(maxMetaBytes) || maxMetaBytes < 0) {
    throw invalid('maxMetaBytes', 'an integer of at least 0', maxMetaBytes)
  }
  if (typeof propagateDeadlines !== 'boolean') {
    throw invalid('propagateDeadlines', 'a boolean', propagateDeadlines)
  }
  return { handlers: list as RpcHandlers[], callTimeout, maxPendingCalls, maxIncomingCalls, maxMetaBytes, propagateDeadlines, interceptors: resolveInterceptors(options.interceptors) }
}

function invalid(option: string, expected: string, value: unknown): CioError {
  return new CioError(codes.INVALID_OPTION, `${option} must be ${expected}, got ${typeof value === 'object' ? 'an object' : String(value)}`, {
    details: { option, value },
  })
}
