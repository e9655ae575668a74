/**
 * The RPC layer's types: what handlers receive, what a peer offers to
 * handlers and to layers riding on it (`RpcPeerApi`, which `RpcPeer`
 * implements), and the options of one call. Apart from the implementation
 * so that the peer, its registries and its dispatcher need not import each
 * other.
 */
import type { Socket } from 'node:net'
import type { FramedSocket } from '../frame/framed-socket.js'
import type { RpcMeta } from './meta.js'

export type { RpcMeta } from './meta.js'

/** Options of one call. */
export interface CallOptions {
  /**
   * Milliseconds to wait for the response, above 0. Inside a handler the
   * call waits at most the time the served call has left (see
   * `inheritDeadline`). @default the peer's `callTimeout`
   */
  timeout?: number
  /** Aborting it fails the call with `ABORTED` (the `cause` is the signal's reason) and cancels it on the other side. */
  signal?: AbortSignal
  /**
   * Metadata sent with the request: string values by key, keys of 1 to 128
   * of `A-Z a-z 0-9 . _ -`, not starting with `cio-`, at most `maxMetaBytes`
   * in all. A bad one rejects the call with `INVALID_ARGUMENT`.
   */
  meta?: Readonly<RpcMeta>
  /** Called with the metadata of the answer, when it carries some, before the call settles. */
  onMeta?: (meta: RpcMeta) => void
  /**
   * A call made while a handler runs inherits the served call's remaining
   * time (its timeout becomes the smaller of the two) and is aborted when
   * the served call's signal aborts. `false` makes this call independent.
   * @default true
   */
  inheritDeadline?: boolean
}

/** What a handler learns about the call it answers. */
export interface RpcCall {
  /** The action the caller named. */
  readonly action: string
  /** The caller's id for this call (unique per connection and direction). */
  readonly id: number
  /** The peer that received the call; `call.peer.call(...)` calls back. */
  readonly peer: RpcPeerApi
  /** The connection it came on. */
  readonly socket: Socket
  /**
   * Who made the call, as the layer in front of the handlers knows it (an
   * `AgentServer` puts the agent's record here); undefined on a bare peer.
   */
  readonly caller: object | undefined
  /** The request's metadata: a null-prototype object, empty when it carried none. */
  readonly meta: Readonly<RpcMeta>
  /**
   * When the caller stops waiting, in `Date.now()` milliseconds (computed
   * from the relative time the request carried, so clocks need not agree);
   * `Infinity` when the request carried no timeout.
   */
  readonly deadline: number
  /**
   * Aborts when the answer is no longer wanted, with a `CioError` reason
   * whose code says why: `DEADLINE_EXCEEDED` (the caller's time ran out),
   * `CANCELLED` (the caller gave up; nothing will be answered),
   * `DISCONNECTED` (the connection closed), `DRAINING` (a drain ran out of
   * time). Made on first read: handlers that never look cost nothing.
   */
  readonly signal: AbortSignal
  /**
   * Adds metadata to the answer (same rules as a call's `meta`). Throws
   * `INVALID_ARGUMENT` for bad metadata.
   */
  setAnswerMeta(meta: Readonly<RpcMeta>): void
}

/**
 * Answers one action. `body` is the caller's JSON value, unvalidated: check
 * its shape before use, and never merge it into other objects. Return a
 * JSON value or a promise of one; throw or reject to fail the call.
 */
export type RpcHandler = (body: unknown, call: RpcCall) => unknown

/** Sees every call, before the action's own handlers; gets the action first. */
export type RpcCatchAll = (action: string, body: unknown, call: RpcCall) => unknown

/** Several actions at once: `{ action: handler }`. */
export type RpcHandlerMap = { readonly [action: string]: RpcHandler }

/** Adds and removes handlers; `RpcHandlers` implements it. */
export interface HandlerRegistry {
  /** Adds a handler for one action. */
  on(action: string, handler: RpcHandler): this
  /** Adds a handler per action of the map. */
  on(handlers: RpcHandlerMap): this
  /** Adds a catch-all: it sees every call before the actions' handlers. */
  on(catchAll: RpcCatchAll): this
  /** Removes the last registration of `handler` for `action`; false when there was none. */
  off(action: string, handler: RpcHandler): boolean
  /** Removes the last registration of a catch-all; false when there was none. */
  off(catchAll: RpcCatchAll): boolean
  /** True when a call of `action` would reach at least one handler here. */
  handles(action: string): boolean
}

/** An RPC peer as handlers and layers see it; `RpcPeer` implements it. */
export interface RpcPeerApi {
  /** The framing layer under the peer. */
  readonly framed: FramedSocket
  /** The connection. */
  readonly socket: Socket
  /** Default timeout of `call()`, in ms. */
  readonly callTimeout: number
  /** Most calls the peer may have waiting at once. */
  readonly maxPendingCalls: number
  /** Most requests from the other side the peer answers at once (then it stops reading). */
  readonly maxIncomingCalls: number
  /** Calls currently waiting for a response. */
  readonly pendingCalls: number
  /** True once the connection has closed. */
  readonly closed: boolean
  /** This connection's own handlers, consulted after the shared ones. */
  readonly handlers: HandlerRegistry
  /** Adds handlers for this connection only. */
  on(action: string, handler: RpcHandler): this
  on(handlers: RpcHandlerMap): this
  on(catchAll: RpcCatchAll): this
  /** Calls `action` on the other side; see `RpcPeer.call`. */
  call<T = unknown>(action: string, body?: unknown, options?: CallOptions): Promise<T>
}
