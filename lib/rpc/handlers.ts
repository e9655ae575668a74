/**
 * The handler registry: which functions answer which action. One registry
 * can serve many peers (the `handlers` option shares one among every server
 * client), and each peer also has its own for per-connection handlers.
 */
import { CioError, codes } from '../errors.js'
import type { HandlerRegistry, RpcCatchAll, RpcHandler, RpcHandlerMap } from './types.js'

export type { RpcCall, RpcCatchAll, RpcHandler, RpcHandlerMap } from './types.js'

/**
 * Handlers in the three forms of websocket-agent's `onHook`:
 * `on(action, fn)`, `on({ action: fn })` and `on(catchAll)`.
 *
 * For a call, every catch-all runs first, in the order they were added,
 * then every handler of the action, in the order they were added. Each one
 * may return a value or a promise and is awaited before the next starts.
 * The response is the value the last one returned, literally: a later
 * handler that returns `undefined` makes the response empty even if an
 * earlier one returned something. A throw or rejection stops the run and
 * becomes the response. With no catch-all and no handler for the action the
 * caller gets `UNKNOWN_ACTION`.
 *
 * Errors in the response: a thrown plain JSON value reaches the caller
 * unchanged (as the rejection value); an `RpcFault` reaches it with its code
 * and message; any other `Error` reaches it as `INTERNAL_ERROR` with its
 * message and without its stack.
 */
export class RpcHandlers implements HandlerRegistry {
  /** @internal Read by the dispatcher; live, in registration order. */
  readonly _catchAll: RpcCatchAll[] = []
  /** @internal Keyed by action: a Map, so no action name can reach a prototype. */
  readonly _actions = new Map<string, RpcHandler[]>()

  /** Adds a handler for one action. */
  on(action: string, handler: RpcHandler): this
  /** Adds one handler per key of `handlers`. */
  on(handlers: RpcHandlerMap): this
  /** Adds a catch-all, run for every action before the action's handlers. */
  on(catchAll: RpcCatchAll): this
  on(first: string | RpcHandlerMap | RpcCatchAll, handler?: RpcHandler): this {
    if (typeof first === 'string') {
      this.add(first, handler, 'handler')
    } else if (typeof first === 'function') {
      this._catchAll.push(first)
    } else if (typeof first === 'object' && first !== null) {
      // Check everything before adding anything, so a bad map adds nothing.
      const entries = Object.entries(first)
      for (const [action, fn] of entries) checkHandler(action, fn, `handlers.${action}`)
      for (const [action, fn] of entries) this.add(action, fn, action)
    } else {
      throw new CioError(codes.INVALID_ARGUMENT, 'on() takes (action, handler), ({ action: handler }) or (catchAll)', { details: { argument: first } })
    }
    return this
  }

  /**
   * Removes one registration of `handler` for `action`, or of a catch-all.
   * @returns whether something was removed.
   */
  off(action: string, handler: RpcHandler): boolean
  off(catchAll: RpcCatchAll): boolean
  off(first: string | RpcCatchAll, handler?: RpcHandler): boolean {
    const list: Array<RpcHandler | RpcCatchAll> | undefined = typeof first === 'string' ? this._actions.get(first) : this._catchAll
    const target = typeof first === 'string' ? handler : first
    const index = list === undefined ? -1 : list.lastIndexOf(target as RpcHandler)
    if (list === undefined || index < 0) return false
    list.splice(index, 1)
    if (list.length === 0 && typeof first === 'string') this._actions.delete(first)
    return true
  }

  /** True when a call of `action` would reach at least one handler here. */
  handles(action: string): boolean {
    return this._catchAll.length > 0 || this._actions.has(action)
  }

  private add(action: string, handler: unknown, name: string): void {
    checkHandler(action, handler, name)
    const list = this._actions.get(action)
    if (list === undefined) this._actions.set(action, [handler])
    else list.push(handler)
  }
}

function checkHandler(action: string, handler: unknown, name: string): asserts handler is RpcHandler {
  if (action.length === 0) {
    throw new CioError(codes.INVALID_ARGUMENT, 'an action name must be a non-empty string', { details: { argument: name } })
  }
  if (typeof handler !== 'function') {
    throw new CioError(codes.INVALID_ARGUMENT, `the handler for action "${action}" must be a function, got ${typeof handler}`, {
      details: { argument: name, action },
    })
  }
}
