/**
 * An RPC peer: one per framed connection, able both to call the other side
 * and to answer its calls. This file holds the calling side (ids, the
 * pending map, timeouts, aborts, disconnects); `dispatch.ts` answers.
 */
import type { Socket } from 'node:net'
import { cancelExpiry, scheduleExpiry, type DeadlineQueue, type Expirable } from './deadlines.js'
import { CioError, codes, describeError, type CioErrorCode } from '../errors.js'
import { attachFramed, type FramedOwner, type FramedSocket, type FramedSocketOptions } from '../frame/framed-socket.js'
import { handleRequest, HANDLED } from './dispatch.js'
import { RpcHandlers, type RpcCatchAll, type RpcHandler, type RpcHandlerMap } from './handlers.js'
import { RpcKind, classifyRpcMessage, faultCode, invalidMessage, type RpcFaultMessage, type RpcRequest, type RpcSuccess, type RpcUserError } from './protocol.js'
import { resolveRpcOptions, type RpcPeerOptions } from './options.js'
import { checkAction, checkTimeout } from './validate.js'
import { kPeer } from '../core/symbols.js'
import type { CallOptions, RpcPeerApi } from './types.js'


interface SocketWithPeer extends Socket {
  [kPeer]?: RpcPeer
}

/**
 * Why a call failed, kept as data until `call()` turns it into the error it
 * rejects with. The error is created inside `call()` as it resumes, so V8's
 * async stack trace runs through the callers awaiting it: stacks point at
 * the calling code without capturing a stack for every call (which costs
 * microseconds, more than the rest of a call).
 */
class CallFailure {
  constructor(
    readonly code: CioErrorCode,
    readonly message: string,
    readonly cause?: unknown,
    readonly details?: Record<string, unknown>,
  ) {}
}

/** A plain value the remote handler threw: rejected with as it is. */
class RemoteThrow {
  constructor(readonly value: unknown) {}
}

/** One call waiting for its response. Also the abort listener of its signal. */
class PendingCall implements Expirable {
  deadline = 0
  expiryQueue: DeadlineQueue | undefined = undefined
  constructor(
    readonly peer: RpcPeer,
    readonly id: number,
    readonly action: string,
    /** Settles the call: with the result, a CallFailure or a RemoteThrow. */
    readonly settle: (outcome: unknown) => void,
    readonly signal: AbortSignal | undefined,
    readonly timeout: number,
  ) {}

  /** The call's timeout passed without a response. */
  expire(): void {
    finish(this)?.settle(new CallFailure(codes.TIMEOUT, `call ${this.id} (${this.action}) got no response within ${this.timeout} ms`))
  }

  /** AbortSignal listener (`handleEvent` avoids a closure per call). */
  handleEvent(): void {
    finish(this)?.settle(new CallFailure(codes.ABORTED, `call ${this.id} (${this.action}) was aborted`, this.signal?.reason))
  }
}

/**
 * Removes a pending call from every place it was registered. Returns it if
 * it was still pending, so exactly one outcome wins.
 */
function finish(pending: PendingCall): PendingCall | undefined {
  const map = pending.peer._pending
  if (map?.get(pending.id) !== pending) return undefined
  map.delete(pending.id)
  cancelExpiry(pending)
  pending.signal?.removeEventListener('abort', pending)
  return pending
}

/**
 * A layer riding on a peer (the agent layer is one): it sees each incoming
 * request before any handler does, and hears when the connection closes.
 * Set one module-level object for all peers and find per-connection state
 * from `peer.socket`, so that nothing is allocated per connection.
 */
export interface RpcInterceptor {
  /**
   * Returns `HANDLED` when it has dealt with the request itself (answered
   * it, or refused it with `refuseRequest`); otherwise the handlers answer,
   * and what it returned (an object, or undefined) is their `call.caller`,
   * so they need not look the connection up again. It must not throw: a
   * throw is treated as a protocol error and closes the connection.
   */
  request(peer: RpcPeer, request: RpcRequest): object | typeof HANDLED | undefined
  /** Called once the connection has closed and every pending call has failed; `error` is why, if known. */
  closed?(peer: RpcPeer, error: Error | undefined): void
}


/**
 * Calls and answers over one framed socket. Reach it with {@link peerOf};
 * make it with {@link attachRpc} or the `cio/rpc` listener.
 */
export class RpcPeer implements RpcPeerApi {
  /** The framing layer under this peer. */
  readonly framed: FramedSocket
  /** @internal This connection's own registry, made on first use. */
  _own: RpcHandlers | undefined = undefined
  /** Default timeout of {@link call}, in ms. */
  readonly callTimeout: number
  /** Most calls this peer may have waiting at once. */
  readonly maxPendingCalls: number
  /** Most requests from the other side this peer answers at once (then it stops reading). */
  readonly maxIncomingCalls: number
  /** @internal Requests being answered now. */
  _answering = 0
  /** @internal Requests being answered whose handlers asked for `call.signal`; made on first use. */
  _watched: Set<{ abort(reason: CioError): void }> | undefined = undefined
  /**
   * @internal Shared registries, then {@link handlers} once it exists. The
   * array may be shared with other peers (see {@link sharedRegistries}):
   * never change it in place, replace it.
   */
  _registries: readonly RpcHandlers[]
  /** @internal Calls awaiting a response, by id; made by the first call (an idle peer has none). */
  _pending: Map<number, PendingCall> | undefined = undefined
  /** Consulted before the handlers for each incoming request; see {@link RpcInterceptor}. */
  interceptor: RpcInterceptor | undefined = undefined
  private nextId = 0

  /** Prefer {@link attachRpc}, which also frames the socket when needed. */
  constructor(framed: FramedSocket, options: RpcPeerOptions = {}) {
    const resolved = resolveRpcOptions(options)
    this.framed = framed
    this.callTimeout = resolved.callTimeout
    this.maxPendingCalls = resolved.maxPendingCalls
    this.maxIncomingCalls = resolved.maxIncomingCalls
    this._registries = sharedRegistries(options.handlers, resolved.handlers)
    ;(framed.socket as SocketWithPeer)[kPeer] = this
    // Most framed sockets carry nothing but their peer: it then takes the
    // messages and the close directly, without listeners (which would cost
    // each connection an event table). Listeners already there keep their
    // place ahead of the peer's.
    if (framed._owner === undefined && framed.listenerCount('message') === 0 && framed.listenerCount('close') === 0) framed._owner = peerOwner
    else {
      framed.on('message', peerOnMessage)
      framed.on('close', peerOnClose)
    }
  }

  /**
   * This connection's own handlers, consulted after the shared ones. Made on
   * first use: most connections only use shared registries, and an empty
   * registry per connection would cost memory for nothing.
   */
  get handlers(): RpcHandlers {
    if (this._own === undefined) {
      this._own = new RpcHandlers()
      // A new array: the old one may be shared with other peers.
      this._registries = [...this._registries, this._own]
    }
    return this._own
  }

  /**
   * Adds a registry shared with other peers, consulted after the shared
   * ones given at creation and before this connection's own handlers: how a
   * layer on top (an `AgentServer`'s hooks) answers on every connection
   * with one registry. The common case, a peer with no registry yet, takes
   * a list shared by every peer using the same registry.
   */
  answerWith(registry: RpcHandlers): void {
    this._registries = this._registries.length === 0 ? sharedRegistries(registry, [registry]) : [...this._registries, registry]
  }

  /** The connection. */
  get socket(): Socket {
    return this.framed.socket
  }

  /** Calls currently waiting for a response. */
  get pendingCalls(): number {
    return this._pending?.size ?? 0
  }

  /** True once the connection has closed; calls then fail with `DISCONNECTED`. */
  get closed(): boolean {
    return this.framed.closed
  }

  /** Adds handlers for this connection only; same forms as {@link RpcHandlers.on}. */
  on(action: string, handler: RpcHandler): this
  on(handlers: RpcHandlerMap): this
  on(catchAll: RpcCatchAll): this
  on(first: string | RpcHandlerMap | RpcCatchAll, handler?: RpcHandler): this {
    // Re-dispatch through the public overloads of the registry.
    if (typeof first === 'string') this.handlers.on(first, handler as RpcHandler)
    else if (typeof first === 'function') this.handlers.on(first)
    else this.handlers.on(first)
    return this
  }

  /**
   * Calls `action` on the other side with `body` (any JSON value; omitted
   * when undefined). Resolves with the handler's result. Rejects with the
   * plain value a remote handler threw, or a CioError: `TIMEOUT`, `ABORTED`,
   * `DISCONNECTED`, `TOO_MANY_PENDING`, `UNKNOWN_ACTION`, `INTERNAL_ERROR`,
   * `INVALID_MESSAGE` (body with no JSON form), `FRAME_TOO_LARGE`,
   * `INVALID_ARGUMENT`. Never throws synchronously. `T` is an unchecked
   * assertion about the result's shape. CioErrors carry `details.action`
   * and `details.id`; their stacks show the code that awaited the call.
   */
  async call<T = unknown>(action: string, body?: unknown, options?: CallOptions): Promise<T> {
    // Refusals happen before the first await: their stack is the caller's own.
    const timeout = options?.timeout ?? this.callTimeout
    const signal = options?.signal
    checkAction(action, 'peer.call')
    checkTimeout(timeout, action)
    if (this.framed.closed || !this.socket.writable) throw new CioError(codes.DISCONNECTED, `cannot call ${action}: the connection is closed`, { details: { action } })
    const map = (this._pending ??= new Map<number, PendingCall>())
    if (map.size >= this.maxPendingCalls) {
      throw new CioError(codes.TOO_MANY_PENDING, `cannot call ${action}: ${map.size} calls already pending (maxPendingCalls ${this.maxPendingCalls})`, {
        details: { action, maxPendingCalls: this.maxPendingCalls },
      })
    }
    if (signal?.aborted === true) throw new CioError(codes.ABORTED, `call ${action} was aborted before it was sent`, { cause: signal.reason, details: { action } })
    // JSON.stringify would silently drop such a body from the request.
    if (typeof body === 'function' || typeof body === 'symbol') throw new CioError(codes.INVALID_MESSAGE, `cannot call ${action}: a ${typeof body} body has no JSON form`, { details: { action } })
    const id = this.nextId + 1
    // Throws INVALID_MESSAGE / FRAME_TOO_LARGE before anything is written.
    this.framed.send(body === undefined ? { id, action } : { id, action, body })
    this.nextId = id
    const outcome = await new Promise<unknown>((settle) => {
      const pending = new PendingCall(this, id, action, settle, signal, timeout)
      map.set(id, pending)
      // Shared, unref'd timers: a pending call alone does not keep the process alive.
      scheduleExpiry(pending, timeout)
      signal?.addEventListener('abort', pending, { once: true })
    })
    if (outcome instanceof CallFailure) {
      throw new CioError(outcome.code, outcome.message, { cause: outcome.cause, details: { action, id, ...outcome.details } })
    }
    if (outcome instanceof RemoteThrow) throw outcome.value
    return outcome as T
  }
}

/** Settles the pending call a response names; unknown ids (late responses) are dropped. */
function settleCall(peer: RpcPeer, id: number, kind: RpcKind, message: unknown): void {
  const entry = peer._pending?.get(id)
  if (entry === undefined) return
  const pending = finish(entry)
  if (pending === undefined) return
  if (kind === RpcKind.SUCCESS) pending.settle((message as RpcSuccess).result)
  else if (kind === RpcKind.USER_ERROR) pending.settle(new RemoteThrow((message as RpcUserError).error))
  else {
    const { code, message: text } = (message as RpcFaultMessage).fault
    const known = faultCode(code)
    pending.settle(new CallFailure(known, text, undefined, known === code ? { remote: true } : { remote: true, remoteCode: code }))
  }
}

/** One incoming message of `framed`'s peer; one function for all peers. */
function peerMessage(framed: FramedSocket, value: unknown): void {
  const peer = peerOf(framed.socket)
  if (peer === undefined) return
  const kind = classifyRpcMessage(value)
  if (typeof kind === 'string') framed.fail(invalidMessage(kind))
  else if (kind === RpcKind.REQUEST) {
    // Without an interceptor this is one field read: the hot path is unchanged.
    if (peer.interceptor === undefined) handleRequest(peer, value as RpcRequest, undefined)
    else intercept(peer, peer.interceptor, value as RpcRequest)
  } else settleCall(peer, (value as { id: number }).id, kind, value)
}

/** Runs an interceptor, then the handlers unless it dealt with the request; a throw closes the connection rather than the process. */
function intercept(peer: RpcPeer, interceptor: RpcInterceptor, request: RpcRequest): void {
  let caller: object | typeof HANDLED | undefined
  try {
    caller = interceptor.request(peer, request)
  } catch (error) {
    peer.framed.fail(new CioError(codes.INTERNAL_ERROR, `the request interceptor failed: ${describeError(error)}`, { cause: error }))
    return
  }
  if (caller !== HANDLED) handleRequest(peer, request, caller)
}

/** The close of `framed`: fails the pending calls, then tells the interceptor. */
function peerClosed(framed: FramedSocket, error: Error | undefined): void {
  const peer = peerOf(framed.socket)
  if (peer === undefined) return
  rejectAll(peer, framed.failure ?? error)
  abortAnswering(peer, framed.failure ?? error)
  peer.interceptor?.closed?.(peer, framed.failure ?? error)
}

/** How a peer hears its framed socket when it is its only user: one object for all peers. */
const peerOwner: FramedOwner = { message: peerMessage, closed: peerClosed }

/** `message` listener of the FramedSocket (`this`), when the peer shares it with other listeners. */
function peerOnMessage(this: FramedSocket, value: unknown): void {
  peerMessage(this, value)
}

function peerOnClose(this: FramedSocket, error: Error | undefined): void {
  this.off('message', peerOnMessage)
  this.off('close', peerOnClose)
  peerClosed(this, error)
}

/** The empty registry list, shared by every peer that has no handlers option. */
const NO_REGISTRIES: readonly RpcHandlers[] = []
/** One single-registry list per registry, shared by every peer given that registry. */
const singleRegistries = new WeakMap<RpcHandlers, readonly RpcHandlers[]>()

/**
 * The peer's starting registry list, without an array per connection where
 * none is needed: shared when the option is absent or one registry (a
 * server's usual case), a copy when it is an array, which its owner may
 * change later.
 */
function sharedRegistries(option: RpcPeerOptions['handlers'], resolved: readonly RpcHandlers[]): readonly RpcHandlers[] {
  if (option === undefined) return NO_REGISTRIES
  if (Array.isArray(option)) return [...resolved]
  const registry = resolved[0] as RpcHandlers
  let list = singleRegistries.get(registry)
  if (list === undefined) {
    list = [registry]
    singleRegistries.set(registry, list)
  }
  return list
}

/** Fails every pending call at once; the map is empty afterwards. */
function rejectAll(peer: RpcPeer, cause: Error | undefined): void {
  const map = peer._pending
  if (map === undefined) return
  // Deleting the current entry while iterating a Map is well defined.
  for (const entry of map.values()) {
    finish(entry)?.settle(new CallFailure(codes.DISCONNECTED, `call ${entry.id} (${entry.action}) lost: the connection closed`, cause))
  }
}

/** Aborts the signals of the requests still being answered: their answers can no longer be sent. */
function abortAnswering(peer: RpcPeer, cause: Error | undefined): void {
  const watched = peer._watched
  if (watched === undefined) return
  peer._watched = undefined
  const reason = new CioError(codes.DISCONNECTED, 'the connection closed before this request was answered', { cause })
  for (const run of watched) run.abort(reason)
}

/** The RPC peer of `socket`, if it has one. */
export function peerOf(socket: Socket): RpcPeer | undefined {
  return (socket as SocketWithPeer)[kPeer]
}

/**
 * Gives `socket` an RPC peer (framing it first if needed) or returns the one
 * it has, so attaching twice is harmless (the first options win).
 * @throws CioError `INVALID_OPTION` for a bad option.
 */
export function attachRpc(socket: Socket, options: RpcPeerOptions & FramedSocketOptions = {}): RpcPeer {
  return peerOf(socket) ?? new RpcPeer(attachFramed(socket, options), options)
}
