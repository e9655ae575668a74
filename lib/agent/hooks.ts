/**
 * `onHook` in websocket-agent's three forms, on top of an `RpcHandlers` registry:
 * `onHook(action, handler)`, `onHook({ action: handler })` and
 * `onHook(catchAll)`. Catch-alls run first, then the action's handlers, each
 * in the order they were added; the last value returned is the answer (the
 * registry's rules). Actions in cio's reserved space (`cio.`) are refused:
 * the handshake and the heartbeat are not the user's to answer.
 */
import { CioError, codes } from '../errors.js'
import { RESERVED_PREFIX } from './protocol.js'
import { checkAction } from '../rpc/validate.js'
import { wrapsAsync } from '../rpc/serving.js'
import type { Socket } from 'node:net'
import type { RpcCall, RpcHandler, RpcHandlers } from '../rpc/handlers.js'
import type { AgentRecord } from './server/connection.js'

// Declared as methods so that their parameters are bivariant: a hook written
// as `(message: { a: number }) => ...` is accepted, its annotation being the
// author's (unchecked) statement of what agents send, as with `call<T>()`.
// The parameters are websocket-agent's, in its order; what cio adds (the
// agent side's `call`) comes after them, so ported hooks run unchanged.
interface HookMethods {
  serverHook(message: unknown, socket: Socket, agent: AgentRecord, call: RpcCall): unknown
  serverCatchAll(action: string, message: unknown, socket: Socket, agent: AgentRecord, call: RpcCall): unknown
  agentHook(message: unknown, socket: Socket, call: RpcCall): unknown
  agentCatchAll(action: string, message: unknown, socket: Socket, call: RpcCall): unknown
}

/** A server hook: gets the agent's message, its socket, its record and the call (`call.signal` aborts if the agent goes); returns the answer (or a promise of it). */
export type ServerHook = HookMethods['serverHook']
/** A server catch-all hook: runs for every action, before the action's own hooks. */
export type ServerCatchAll = HookMethods['serverCatchAll']
/** An agent hook: gets the server's message and the socket (and the call: action, id, socket); returns the answer. */
export type AgentHook = HookMethods['agentHook']
/** An agent catch-all hook. */
export type AgentCatchAll = HookMethods['agentCatchAll']
/** The map form of `onHook`: `{ action: hook }`. */
export type HookMap<H> = { readonly [action: string]: H }

/** Adapts a user's hook into an RPC handler (the server adds the agent record). */
export interface HookAdapter<H, C> {
  handler(hook: H): RpcHandler
  catchAll(hook: C): (action: string, body: unknown, call: RpcCall) => unknown
}

function checkFunction(value: unknown, where: string, action?: string): void {
  if (typeof value !== 'function') {
    throw new CioError(codes.INVALID_ARGUMENT, `${where}: the handler${action === undefined ? '' : ` for "${action}"`} must be a function, got ${value === null ? 'null' : typeof value}.`, {
      details: { action },
    })
  }
}

/** The agent record the server's interceptor handed on as `call.caller` (it lets only admitted agents through). */
function recordOf(call: RpcCall): AgentRecord {
  return call.caller as AgentRecord
}

/** Server hooks get the socket and the agent's record, found from the socket the call came on. */
export const serverHookAdapter: HookAdapter<ServerHook, ServerCatchAll> = {
  handler: (hook) => (body, call) => hook(body, call.socket, recordOf(call), call),
  catchAll: (hook) => (action, body, call) => hook(action, body, call.socket, recordOf(call), call),
}

/** Agent hooks get the socket, then the call. */
export const agentHookAdapter: HookAdapter<AgentHook, AgentCatchAll> = {
  handler: (hook) => (body, call) => hook(body, call.socket, call),
  catchAll: (hook) => (action, body, call) => hook(action, body, call.socket, call),
}

/**
 * Registers hooks in one of the three forms; checks everything before
 * adding anything, so a bad call adds nothing.
 */
export function addHooks<H, C>(registry: RpcHandlers, adapter: HookAdapter<H, C>, where: string, first: unknown, handler?: unknown): void {
  if (typeof first === 'string') {
    checkAction(first, where, RESERVED_PREFIX)
    checkFunction(handler, where, first)
    registry.on(first, wrapsAsync(adapter.handler(handler as H), handler as object))
  } else if (typeof first === 'function') {
    registry.on(wrapsAsync(adapter.catchAll(first as C), first))
  } else if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
    const entries = Object.entries(first)
    for (const [action, fn] of entries) {
      checkAction(action, where, RESERVED_PREFIX)
      checkFunction(fn, where, action)
    }
    for (const [action, fn] of entries) registry.on(action, wrapsAsync(adapter.handler(fn as H), fn as object))
  } else {
    throw new CioError(codes.INVALID_ARGUMENT, `${where} takes (action, handler), ({ action: handler, ... }) or (catchAllHandler).`, { details: { argument: typeof first } })
  }
}
