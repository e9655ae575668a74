/**
 * An RPC peer: one per framed connection, able both to call the other side
 * and to answer its calls. This file holds the calling side (ids, the
 * pending map, timeouts, aborts, disconnects); `dispatch.ts` answers.
 */
import type { Socket } from 'node:net'
import { cancelExpiry, scheduleExpiry, type DeadlineQueue, type Expirable } from './deadlines.js'
import { CioError, codes, describeError, type CioErrorCode } from '../errors.js'
import { attachFramed, type FramedOwner, type FramedSocket, type FramedSocketOptions } from '../frame/framed-socket.js'
import { abortAnswering, cancelRequest, handleRequest, HANDLED, type RequestRun } from './dispatch.js'
import { RpcHandlers, type RpcCatchAll, type RpcHandler, type RpcHandlerMap } from './handlers.js'
import { NO_CALL_ID, RpcKind, classifyRpcMessage, faultCode, invalidMessage, type RpcFaultMessage, type RpcRequest, type RpcSuccess, type RpcUserError } from './protocol.js'
import { resolveRpcOptions, type RpcPeerOptions } from './options.js'
import { checkAction, checkTimeout } from './validate.js'
import { kPeer } from '../core/symbols.js'
import type { CallOptions, RpcPeerApi } from './types.js'
import { checkMeta, copyMeta, EMPTY_META, isEmptyMeta, metaProblem, type RpcMeta } from './meta.js'
import { inheritedCall, keepServed, timeLeft, withServedSignal } from './serving.js'
import { InterceptorSet, runInterceptors, type CallContext, type Interceptors } from './interceptors.js'
import { callChannel, outcomeCode, publishSettled, type CallTrace } from '../core/diagnostics.js'


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
    /** Hears the answer's metadata, when it carries some. */
    readonly onMeta: ((meta: RpcMeta) => void) | undefined,
  ) {}

  /** The call's timeout passed without a response: the other side is told to stop. */
  expire(): void {
    const pending = finish(this)
    if (pending === undefined) return
    sendCancel(this.peer, this.id)
    pending.settle(new CallFailure(codes.TIMEOUT, `call ${this.id} (${this.action}) got no response within ${this.timeout} ms`))
  }

  /** AbortSignal listener (`handleEvent` avoids a closure per call); the other side is told to stop. */
  handleEvent(): void {
    const pending = finish(this)
    if (pending === undefined) return
    sendCancel(this.peer, this.id)
    pending.settle(new CallFailure(codes.ABORTED, `call ${this.id} (${this.action}) was aborted`, this.signal?.reason))
  }
}

/** Tells the other side that call `id` is given up; nothing when the connection is gone. */
function sendCancel(peer: RpcPeer, id: number): void {
  const framed = peer.framed
  if (framed.closed || !framed.socket.writable) return
  try {
    framed.send({ id: NO_CALL_ID, cancel: id })
  } catch {
    // Only a maxFrameBytes too small for a short message gets here; the answer, if any, is dropped as late.
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
  /** Largest metadata of one message, in bytes of keys and values. */
  readonly maxMetaBytes: number
  /** Whether calls made by this peer's handlers inherit the served call's deadline (see {@link RpcPeerOptions.propagateDeadlines}). */
  readonly propagateDeadlines: boolean
  /**
   * The agent's name when this connection runs between an agent and its
   * server (set by the agent layer): tracing reports it.
   */
  agentName: string | undefined = undefined
  /** @internal Interceptors shared with other peers (a server's, an agent's); see {@link interceptWith}. */
  _interceptors: InterceptorSet | undefined
  /** @internal This connection's own interceptors, made by the first {@link use}. */
  _ownInterceptors: InterceptorSet | undefined = undefined
  /** @internal Requests being answered, by id: how a cancel finds its run. Made by the first request. */
  _runs: Map<number, RequestRun> | undefined = undefined
  /** @internal The id of the last call made. */
  _nextId = 0
  /** @internal Set by {@link drainPeers}: new calls either way are refused with `DRAINING`. */
  _draining = false

  /** Prefer {@link attachRpc}, which also frames the socket when needed. */
  constructor(framed: FramedSocket, options: RpcPeerOptions = {}) {
    const resolved = resolveRpcOptions(options)
    this.framed = framed
    this.callTimeout = resolved.callTimeout
    this.maxPendingCalls = resolved.maxPendingCalls
    this.maxIncomingCalls = resolved.maxIncomingCalls
    this.maxMetaBytes = resolved.maxMetaBytes
    this.propagateDeadlines = resolved.propagateDeadlines
    this._interceptors = resolved.interceptors
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

  /**
   * Shares a live set of interceptors with other peers, outside this
   * peer's own: how an `AgentServer` or an `Agent` intercepts every
   * connection with one set.
   * @internal
   */
  interceptWith(set: InterceptorSet): void {
    this._interceptors = set
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
   * Adds interceptors for this connection only, inside any shared ones (a
   * server's or an agent's): `{ call }` around the calls it makes, `{ handle }`
   * around the calls it answers. See {@link CallContext} and `HandleContext`.
   * @throws CioError `INVALID_ARGUMENT` for something that is not a function.
   */
  use(interceptors: Interceptors): this {
    ;(this._ownInterceptors ??= new InterceptorSet()).add(interceptors, 'use()')
    return this
  }

  /**
   * Calls `action` on the other side with `body` (any JSON value; omitted
   * when undefined). Resolves with the handler's result. Rejects with the
   * plain value a remote handler threw, or a CioError: `TIMEOUT`, `ABORTED`,
   * `DISCONNECTED`, `TOO_MANY_PENDING`, `UNKNOWN_ACTION`, `INTERNAL_ERROR`,
   * `INVALID_MESSAGE` (body with no JSON form), `FRAME_TOO_LARGE`,
   * `INVALID_ARGUMENT` (bad action, timeout or meta), `DEADLINE_EXCEEDED`
   * (made inside a handler whose caller already stopped waiting). Never
   * throws synchronously. `T` is an unchecked assertion about the result's
   * shape. CioErrors carry `details.action` and `details.id`; their stacks
   * show the code that awaited the call.
   */
  call<T = unknown>(action: string, body?: unknown, options?: CallOptions): Promise<T> {
    // One read each when nothing is intercepted or traced: the hot path.
    // (An agent's connections always share its set, most often empty: the lengths decide.)
    if ((this._interceptors?.call.length ?? 0) + (this._ownInterceptors?.call.length ?? 0) === 0 && !callChannel.hasSubscribers) {
      return callCore<T>(this, action, body, options, options?.meta, undefined)
    }
    // Interceptors may await before the request leaves: the served call must outlive those awaits.
    return keepServed(() => callIntercepted<T>(this, action, body, options))
  }
}

/** A call through interceptors and the `cio:call` tracing channel. */
function callIntercepted<T>(peer: RpcPeer, action: string, body: unknown, options: CallOptions | undefined): Promise<T> {
  const shared = peer._interceptors?.call
  const own = peer._ownInterceptors?.call
  const intercepted = (shared?.length ?? 0) + (own?.length ?? 0) > 0
  let run: () => Promise<T>
  let trace: CallTrace | undefined
  if (callChannel.hasSubscribers) {
    const socket = peer.socket
    // Read when a subscriber asks: a client's first call may start before its socket connects.
    trace = { action, id: 0, meta: options?.meta ?? EMPTY_META, agent: peer.agentName, get remoteAddress() { return socket.remoteAddress }, code: undefined }
  }
  if (!intercepted) run = () => callCore<T>(peer, action, body, options, options?.meta, trace)
  else {
    run = async () => {
      // Checked before the interceptors see it, and again (with what they added) before it is sent.
      const meta = options?.meta === undefined ? (Object.create(null) as RpcMeta) : checkMeta(options.meta, peer.maxMetaBytes, `the meta of ${JSON.stringify(action)}`)
      const ctx: CallContext = { peer, action, body, meta, options, result: undefined, answerMeta: EMPTY_META }
      await runInterceptors(shared, own, ctx, async (c) => {
        c.result = await callCore(peer, action, c.body, options, c.meta, trace, (answerMeta) => {
          c.answerMeta = answerMeta
          options?.onMeta?.(answerMeta)
        })
      })
      return ctx.result as T
    }
  }
  if (trace === undefined) return run()
  return callChannel.start.runStores(trace, tracedCall, undefined, run, trace)
}

/**
 * `cio:call`'s events by hand, as `tracePromise` publishes them (end after
 * the synchronous part; error, asyncStart, asyncEnd when the call settles,
 * before the caller hears of it), with one reaction instead of its two
 * promises plus one to set `code`.
 */
function tracedCall<T>(run: () => Promise<T>, trace: CallTrace): Promise<T> {
  let promise: Promise<T>
  try {
    promise = run()
  } finally {
    callChannel.end.publish(trace)
  }
  // Registered first, so subscribers hear of the outcome before the caller's own reactions run.
  promise.then(
    (result) => {
      trace.result = result
      trace.code = 'OK'
      publishSettled(callChannel, trace, false)
    },
    (error: unknown) => {
      trace.error = error
      trace.code = outcomeCode(error)
      publishSettled(callChannel, trace, true)
    },
  )
  return promise
}

/** The call itself: checks, the request on the wire, the wait for its answer. */
async function callCore<T>(
  peer: RpcPeer,
  action: string,
  body: unknown,
  options: CallOptions | undefined,
  givenMeta: Readonly<RpcMeta> | undefined,
  trace: CallTrace | undefined,
  metaSink?: (meta: RpcMeta) => void,
): Promise<T> {
  // Refusals happen before the first await: their stack is the caller's own.
  let timeout = options?.timeout ?? peer.callTimeout
  let signal = options?.signal
  checkAction(action, 'peer.call')
  checkTimeout(timeout, action)
  const meta = givenMeta === undefined ? undefined : checkMeta(givenMeta, peer.maxMetaBytes, `the meta of ${JSON.stringify(action)}`)
  if (peer.framed.closed || !peer.socket.writable) throw new CioError(codes.DISCONNECTED, `cannot call ${action}: the connection is closed`, { details: { action } })
  if (peer._draining) throw new CioError(codes.DRAINING, `cannot call ${action}: the connection is draining (finishing its calls before it closes)`, { details: { action } })
  const map = (peer._pending ??= new Map<number, PendingCall>())
  if (map.size >= peer.maxPendingCalls) {
    throw new CioError(codes.TOO_MANY_PENDING, `cannot call ${action}: ${map.size} calls already pending (maxPendingCalls ${peer.maxPendingCalls})`, {
      details: { action, maxPendingCalls: peer.maxPendingCalls },
    })
  }
  // Made while serving a call: at most the time its caller still waits, and given up with it.
  const served = inheritedCall(options?.inheritDeadline)
  if (served !== undefined) {
    const left = timeLeft(served, action)
    if (left < timeout) timeout = left
    signal = withServedSignal(signal, served)
  }
  if (signal?.aborted === true) throw new CioError(codes.ABORTED, `call ${action} was aborted before it was sent`, { cause: signal.reason, details: { action } })
  // JSON.stringify would silently drop such a body from the request.
  if (typeof body === 'function' || typeof body === 'symbol') throw new CioError(codes.INVALID_MESSAGE, `cannot call ${action}: a ${typeof body} body has no JSON form`, { details: { action } })
  const id = peer._nextId + 1
  // Throws INVALID_MESSAGE / FRAME_TOO_LARGE before anything is written.
  // The timeout travels in whole ms; no `meta` key unless there is some (JSON.stringify would skip it, at a cost).
  const wait = Math.ceil(timeout)
  peer.framed.send(meta === undefined || isEmptyMeta(meta) ? { id, action, body, timeout: wait } : { id, action, body, meta, timeout: wait })
  peer._nextId = id
  if (trace !== undefined) trace.id = id
  const onMeta = metaSink ?? options?.onMeta
  const outcome = await new Promise<unknown>((settle) => {
    const pending = new PendingCall(peer, id, action, settle, signal, timeout, onMeta)
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

/** Settles the pending call a response names; unknown ids (late responses) are dropped. */
function settleCall(peer: RpcPeer, id: number, kind: RpcKind, message: unknown): void {
  const entry = peer._pending?.get(id)
  if (entry === undefined) return
  const pending = finish(entry)
  if (pending === undefined) return
  const meta = (message as { meta?: unknown }).meta
  if (meta !== undefined && pending.onMeta !== undefined) {
    const problem = metaProblem(meta, peer.maxMetaBytes, true)
    if (problem !== undefined) {
      pending.settle(new CallFailure(codes.INVALID_MESSAGE, `the answer's ${problem}`, undefined, { remote: true }))
      return
    }
    try {
      pending.onMeta(copyMeta(meta as RpcMeta))
    } catch (error) {
      pending.settle(new CallFailure(codes.INTERNAL_ERROR, `onMeta threw: ${describeError(error)}`, error))
      return
    }
  }
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
  } else if (kind === RpcKind.CANCEL) cancelRequest(peer, (value as { cancel: number }).cancel)
  else settleCall(peer, (value as { id: number }).id, kind, value)
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

/** What a drain did with the calls in flight when it began (both directions). */
export interface DrainResult {
  /** Calls that finished (answered, or failed on their own) within the time given. */
  completed: number
  /** Calls still running when the time ran out: aborted, their callers told `DRAINING`. */
  aborted: number
}

/**
 * Drains connections: refuses new calls in either direction with
 * `DRAINING`, waits up to `timeout` ms for the calls in flight both ways,
 * then aborts what is left (handlers' signals abort with `DRAINING` and
 * their callers get a `DRAINING` fault; our own pending calls fail with
 * `DRAINING`). Does not close the connections. Always resolves.
 */
export async function drainPeers(peers: readonly RpcPeer[], timeout: number): Promise<DrainResult> {
  let inFlight = 0
  for (const peer of peers) {
    peer._draining = true
    inFlight += peer.pendingCalls + (peer._runs?.size ?? 0)
  }
  const busy = (): boolean => peers.some((peer) => !peer.closed && (peer.pendingCalls > 0 || (peer._runs?.size ?? 0) > 0))
  const until = performance.now() + timeout
  // Polled: calls end on many paths (answers, timeouts, cancels, closes), and a drain is rare.
  while (busy() && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, Math.min(10, Math.max(1, until - performance.now()))))
  let aborted = 0
  for (const peer of peers) {
    if (peer.closed) continue
    for (const run of [...(peer._runs?.values() ?? [])]) {
      aborted++
      run.abandon()
    }
    for (const pending of [...(peer._pending?.values() ?? [])]) {
      const entry = finish(pending)
      if (entry === undefined) continue
      aborted++
      sendCancel(peer, entry.id)
      entry.settle(new CallFailure(codes.DRAINING, `call ${entry.id} (${entry.action}) was abandoned: the connection drained and its time ran out`))
    }
  }
  return { completed: Math.max(0, inFlight - aborted), aborted }
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
