/**
 * The answering side of a peer: runs the handlers of one incoming request
 * and sends exactly one response for it (unless the connection is gone).
 * The order and result rules are documented on `RpcHandlers`.
 */
import type { Socket } from 'node:net'
import { CioError, codes, type CioErrorCode } from '../errors.js'
import { encodeFrame } from '../frame/encoder.js'
import { PAUSE_BUSY, PAUSE_WRITE, type FramedSocket } from '../frame/framed-socket.js'
import type { RpcHandlers } from './handlers.js'
import { RpcFault, type RpcRequest } from './protocol.js'
import { isPromiseLike, quote } from './validate.js'
import type { RpcCall, RpcCatchAll, RpcHandler, RpcPeerApi } from './types.js'
import { checkMeta, copyMeta, EMPTY_META, metaProblem, type RpcMeta } from './meta.js'
import { cancelExpiry, scheduleExpiry, type DeadlineQueue, type Expirable } from './deadlines.js'
import { runInterceptors, type HandleContext, type InterceptorSet } from './interceptors.js'
import { enterSync, leaveSync, runsAsync, serving, type ServedCall } from './serving.js'
import { handleChannel, outcomeCode, type CallTrace } from '../core/diagnostics.js'
import { HandleTrace } from './handle-trace.js'

/** A peer as the dispatcher sees it: its public face and the state it answers with. */
export interface DispatchingPeer extends RpcPeerApi {
  readonly _registries: readonly RpcHandlers[]
  _runs: Map<number, RequestRun> | undefined
  readonly maxMetaBytes: number
  readonly propagateDeadlines: boolean
  readonly _interceptors: InterceptorSet | undefined
  readonly _ownInterceptors: InterceptorSet | undefined
  readonly agentName: string | undefined
  readonly _draining: boolean
  /** Requests being answered now. */
  _answering: number
}

/** What a request interceptor returns when it answered or refused the request itself. */
export const HANDLED: unique symbol = Symbol('cio.rpc.handled')

/**
 * Runs the handlers for `request` and answers it; `caller` becomes the
 * handlers' `call.caller`. Metadata over the peer's cap is answered with
 * `INVALID_ARGUMENT` without reaching them. At `maxIncomingCalls` requests
 * being answered the connection stops being read until one is.
 */
export function handleRequest(peer: DispatchingPeer, request: RpcRequest, caller: object | undefined): void {
  if (request.meta !== undefined) {
    const problem = metaProblem(request.meta, peer.maxMetaBytes, true)
    if (problem !== undefined) return refuseRequest(peer, request.id, codes.INVALID_ARGUMENT, `the request's ${problem}`)
  }
  if (peer._draining) return refuseRequest(peer, request.id, codes.DRAINING, `${quote(request.action)} was refused: this side is draining (finishing its calls before it closes); call another`)
  if (++peer._answering >= peer.maxIncomingCalls) peer.framed.pauseReading(PAUSE_BUSY)
  const run = new RequestRun(peer, request, caller)
  const shared = peer._interceptors?.handle.length ?? 0
  const own = peer._ownInterceptors?.handle.length ?? 0
  // Each handler runs "inside" the call it serves (see `invoke`), so calls it makes inherit its deadline and cancellation.
  if (shared + own > 0) startWrapped(run)
  else if (!handleChannel.hasSubscribers) run.step(undefined)
  else run.traceWith(new HandleTrace(traceOf(run)))
}

/** What `cio:handle` publishes for `run`. */
function traceOf(run: RequestRun): CallTrace {
  const peer = run.peer
  return { action: run.action, id: run.id, meta: run.meta, agent: peer.agentName, remoteAddress: peer.socket.remoteAddress, code: undefined }
}

/** The handlers from the first, as `HandleTrace.run` calls them. */
function stepFirst(run: RequestRun): void {
  run.step(undefined)
}

/** A request through interceptors (and the `cio:handle` tracing channel when it has subscribers). */
function startWrapped(run: RequestRun): void {
  const peer = run.peer
  run.track()
  const trace = handleChannel.hasSubscribers ? traceOf(run) : undefined
  const shared = peer._interceptors?.handle
  const own = peer._ownInterceptors?.handle
  const inner = (): Promise<void> => runInterceptors(shared, own, run as HandleContext, innerRun)
  const exec = (): Promise<unknown> =>
    // Interceptors (async functions) run in the store, so calls they make inherit too; the handlers mark their own calls (see `invoke`).
    (peer.propagateDeadlines ? serving.run(run, inner) : inner()).then(
      () => {
        if (trace !== undefined) trace.code = run.cancelled ? codes.CANCELLED : 'OK'
        run.succeed(run.result)
        return run.result
      },
      (error: unknown) => {
        if (trace !== undefined) trace.code = outcomeCode(error)
        run.fail(error)
        throw error
      },
    )
  if (trace === undefined) exec().catch(ignore)
  else handleChannel.tracePromise(exec, trace).catch(ignore)
}

/** The centre of the interceptors: the handlers, as a promise. */
function innerRun(run: HandleContext): Promise<void> {
  const request = run as unknown as RequestRun
  return new Promise<void>((resolve, reject) => {
    request.inner = { resolve, reject }
    request.step(undefined)
  })
}

function ignore(): void {}

/** A response as built here; `meta` is added when the handler set some. */
interface Answer {
  id: number
  result?: unknown
  error?: unknown
  fault?: { code: CioErrorCode; message: string }
  meta?: RpcMeta
}

/** Answering: the handlers run; DONE: answered; CANCELLED: the caller gave up, nothing is answered. */
const RUNNING = 0
const DONE = 1
const CANCELLED = 2

/** Aborts a run's signal when its caller's time runs out; made only when the signal is read. */
class RunExpiry implements Expirable {
  deadline = 0
  expiryQueue: DeadlineQueue | undefined = undefined
  constructor(readonly run: RequestRun) {}
  expire(): void {
    this.run.abort(new CioError(codes.DEADLINE_EXCEEDED, `the caller of ${quote(this.run.action)} stopped waiting (its deadline passed)`, { details: { action: this.run.action, id: this.run.id } }))
  }
}

/** One request fewer being answered. */
function answered(peer: DispatchingPeer): void {
  if (peer._answering-- === peer.maxIncomingCalls) peer.framed.resumeReading(PAUSE_BUSY)
}

/**
 * Writes an answer; when the socket's buffer is full the connection stops
 * being read until it drains, so a peer that sends but does not read
 * cannot make answers pile up here.
 */
export function sendAnswer(framed: FramedSocket, frame: Buffer): void {
  if (!framed.sendFrame(frame)) framed.pauseReading(PAUSE_WRITE)
}

/**
 * One request being answered. It is also the `call` argument handlers get
 * (and the context answering interceptors get), so a request costs one
 * object; the cursor fields say which handler is next: phase 0 walks the
 * catch-alls of every registry, phase 1 the action's handlers of every
 * registry (shared registries first, the peer's own last).
 */
export class RequestRun implements RpcCall, ServedCall {
  readonly action: string
  readonly id: number
  readonly peer: DispatchingPeer
  /** The request's body, unvalidated. */
  readonly body: unknown
  /** `performance.now()` time the caller stops waiting; Infinity when the request carried no timeout. */
  readonly expiresAt: number
  /** For answering interceptors: the handlers' answer. */
  result: unknown = undefined
  /** @internal Set while interceptors wait for the handlers. */
  inner: { resolve(): void; reject(error: unknown): void } | undefined = undefined
  /** The request's metadata, copied into a null-prototype object (checked by `handleRequest`). */
  readonly meta: Readonly<RpcMeta>
  #answerMeta: RpcMeta | undefined = undefined
  #controller: AbortController | undefined = undefined
  #expiry: RunExpiry | undefined = undefined
  #state = RUNNING
  #phase = 0
  #registry = 0
  #index = 0
  #ran = false
  #tracked = false
  #trace: HandleTrace | undefined = undefined

  constructor(peer: DispatchingPeer, request: RpcRequest, readonly caller: object | undefined) {
    this.peer = peer
    this.id = request.id
    this.action = request.action
    this.body = request.body
    this.meta = request.meta === undefined ? EMPTY_META : copyMeta(request.meta as RpcMeta)
    const timeout = request.timeout
    this.expiresAt = timeout === undefined ? Infinity : performance.now() + timeout
  }

  get socket(): Socket {
    return this.peer.socket
  }

  get deadline(): number {
    // The time left, on the wall clock as it reads now (the two clocks drift apart over a process's life).
    return this.expiresAt === Infinity ? Infinity : Date.now() + (this.expiresAt - performance.now())
  }

  get inherits(): boolean {
    return this.#state !== DONE
  }

  /** True once the caller cancelled the call. */
  get cancelled(): boolean {
    return this.#state === CANCELLED
  }

  get signal(): AbortSignal {
    let controller = this.#controller
    if (controller === undefined) {
      controller = this.#controller = new AbortController()
      if (this.#state === CANCELLED) controller.abort(cancelledReason(this))
      else if (this.peer.closed) controller.abort(disconnectedReason(undefined))
      else if (this.#state === RUNNING && this.expiresAt !== Infinity) {
        const left = this.expiresAt - performance.now()
        if (left <= 0) new RunExpiry(this).expire()
        else scheduleExpiry((this.#expiry = new RunExpiry(this)), left)
      }
    }
    return controller.signal
  }

  setAnswerMeta(meta: Readonly<RpcMeta>): void {
    const added = checkMeta(meta, this.peer.maxMetaBytes, 'setAnswerMeta')
    const merged = this.#answerMeta === undefined ? added : Object.assign(this.#answerMeta, added)
    const problem = metaProblem(merged, this.peer.maxMetaBytes, false)
    if (problem !== undefined) throw new CioError(codes.INVALID_ARGUMENT, `setAnswerMeta: ${problem}.`, { details: { maxMetaBytes: this.peer.maxMetaBytes } })
    this.#answerMeta = merged
  }

  /** Aborts the signal (if anyone holds it) without ending the run: the handler may still answer. */
  abort(reason: CioError): void {
    const controller = this.#controller
    if (controller !== undefined && !controller.signal.aborted) controller.abort(reason)
  }

  /** The caller gave up: nothing more is answered, the signal aborts with `CANCELLED`. */
  cancel(): void {
    if (this.#state !== RUNNING) return
    this.#state = CANCELLED
    this.#release()
    const reason = cancelledReason(this)
    this.#trace?.failed(reason)
    this.abort(reason)
    this.inner?.reject(reason)
  }

  /**
   * A drain ran out of time: the signal aborts with `DRAINING` and the
   * caller is answered with a `DRAINING` fault, so it knows to call elsewhere.
   */
  abandon(): void {
    if (this.#state !== RUNNING) return
    const reason = new CioError(codes.DRAINING, `${quote(this.action)} was abandoned: this side drained and its time ran out`, { details: { action: this.action, id: this.id } })
    this.#trace?.failed(reason)
    this.#fault(codes.DRAINING, reason.message)
    this.abort(reason)
    this.inner?.reject(reason)
  }

  /** Runs the handlers under `cio:handle`, its events published by `trace` (no interceptors). */
  traceWith(trace: HandleTrace): void {
    this.#trace = trace
    trace.run(stepFirst, this)
  }

  /**
   * Enters the peer's table of runs, where cancels, closes and drains find
   * it. Only a run that outlives the turn it arrived in needs to be there:
   * one answered synchronously is done before any of those can reach it, so
   * the common case pays no table writes.
   */
  track(): void {
    if (this.#tracked) return
    this.#tracked = true
    ;(this.peer._runs ??= new Map()).set(this.id, this)
  }

  /** Leaves the peer's table of runs, its count of requests being answered and the deadline queues; once per run. */
  #release(): void {
    if (this.#tracked) {
      const runs = this.peer._runs
      if (runs?.get(this.id) === this) runs.delete(this.id)
    }
    answered(this.peer)
    if (this.#expiry !== undefined) cancelExpiry(this.#expiry)
  }

  /**
   * Calls handlers synchronously from the cursor on; stops at the first that
   * returns a thenable and resumes when it settles. `last` is the value the
   * previous handler produced.
   */
  step(last: unknown): void {
    const peer = this.peer
    // Cancelled while a handler ran: the rest of them are not wanted.
    if (this.#state !== RUNNING) return
    try {
      for (;;) {
        // Read afresh each turn: a handler that adds the peer's first own
        // handler replaces the (possibly shared) array, and the new registry
        // must take part in this very run.
        const registry = peer._registries[this.#registry]
        if (registry === undefined) {
          if (this.#phase === 1) break
          this.#phase = 1
          this.#registry = 0
          this.#index = 0
          continue
        }
        let value: unknown
        if (this.#phase === 0) {
          const handler = registry._catchAll[this.#index++]
          if (handler === undefined) {
            this.#registry++
            this.#index = 0
            continue
          }
          this.#ran = true
          value = this.#invoke(handler, this.action)
        } else {
          const handler = registry._actions.get(this.action)?.[this.#index++]
          if (handler === undefined) {
            this.#registry++
            this.#index = 0
            continue
          }
          this.#ran = true
          value = this.#invoke(handler, undefined)
        }
        if (isPromiseLike(value)) {
          // Only handlers that really are asynchronous pay for the closures and the table.
          this.track()
          Promise.resolve(value).then(
            (result) => this.step(result),
            (error: unknown) => this.#handlersFailed(error),
          )
          return
        }
        last = value
      }
    } catch (error) {
      this.#handlersFailed(error)
      return
    }
    if (!this.#ran) this.#handlersFailed(new RpcFault(codes.UNKNOWN_ACTION, `no handler for action ${quote(this.action)}`))
    else if (this.inner !== undefined) {
      this.result = last
      this.inner.resolve()
    } else this.succeed(last)
  }

  /**
   * Calls one handler as serving this run: an async function inside the
   * store, so its awaits keep it; any other with the synchronous slot (see
   * serving.ts for why not always the store). `action` is given for a
   * catch-all, undefined for an action's handler.
   */
  #invoke(handler: RpcCatchAll | RpcHandler, action: string | undefined): unknown {
    if (!this.peer.propagateDeadlines) return action === undefined ? (handler as RpcHandler)(this.body, this) : (handler as RpcCatchAll)(action, this.body, this)
    if (runsAsync(handler)) {
      // The slot is emptied meanwhile: a plain handler that (through a
      // synchronous dispatch) led here must not shadow this run's store.
      const outer = enterSync(undefined)
      let promise: unknown
      try {
        promise = action === undefined ? serving.run(this, handler as RpcHandler, this.body, this) : serving.run(this, handler as RpcCatchAll, action, this.body, this)
      } catch (error) {
        leaveSync(outer)
        throw error
      }
      leaveSync(outer)
      return promise
    }
    const outer = enterSync(this)
    let value: unknown
    // catch-and-rethrow, not finally: on Node 20 a try/finally here made
    // V8 give up on this path (~15% of calls/s on bench/rpc, measured).
    try {
      value = action === undefined ? (handler as RpcHandler)(this.body, this) : (handler as RpcCatchAll)(action, this.body, this)
    } catch (error) {
      leaveSync(outer)
      throw error
    }
    leaveSync(outer)
    return value
  }

  #handlersFailed(error: unknown): void {
    if (this.inner !== undefined) this.inner.reject(error)
    else this.fail(error)
  }

  /** @internal Answers with `result`. */
  succeed(result: unknown): void {
    this.#trace?.succeeded(result)
    if (!hasJsonForm(result, true)) {
      this.#fault(codes.INTERNAL_ERROR, `the handler of ${quote(this.action)} returned a ${typeof result}, which has no JSON form`)
      return
    }
    this.#send(result === undefined ? { id: this.id } : { id: this.id, result })
  }

  /** @internal Answers with what was thrown. */
  fail(error: unknown): void {
    this.#trace?.failed(error)
    if (error instanceof RpcFault) this.#fault(error.code, error.message)
    else if (error instanceof Error) this.#fault(codes.INTERNAL_ERROR, error.message)
    else if (!hasJsonForm(error, false)) this.#fault(codes.INTERNAL_ERROR, `the handler of ${quote(this.action)} threw a ${typeof error}, which has no JSON form`)
    else this.#send({ id: this.id, error })
  }

  #fault(code: CioErrorCode, message: string): void {
    this.#send({ id: this.id, fault: { code, message } })
  }

  /** Encodes and writes a response; an unencodable one becomes a fault. */
  #send(message: Answer): void {
    if (this.#state !== RUNNING) return
    this.#state = DONE
    this.#release()
    if (this.#answerMeta !== undefined) message.meta = this.#answerMeta
    const framed = this.peer.framed
    // Gone: the caller's side has already failed the call with DISCONNECTED.
    if (framed.closed || !framed.socket.writable) return
    let frame: Buffer
    try {
      frame = encodeFrame(message, framed.maxFrameBytes)
    } catch (error) {
      // A cycle, a BigInt or an oversize value somewhere inside the answer.
      const code = error instanceof CioError && error.code === codes.FRAME_TOO_LARGE ? codes.FRAME_TOO_LARGE : codes.INTERNAL_ERROR
      const reason = error instanceof Error ? error.message : String(error)
      try {
        frame = encodeFrame({ id: this.id, fault: { code, message: `the answer to ${quote(this.action)} cannot be sent: ${reason}` } }, framed.maxFrameBytes)
      } catch (fatal) {
        // Only when maxFrameBytes cannot hold even a short fault: the
        // connection cannot work, so close it rather than leave the caller
        // waiting for its timeout.
        framed.fail(fatal instanceof CioError ? fatal : new CioError(codes.INTERNAL_ERROR, reason))
        return
      }
    }
    sendAnswer(framed, frame)
  }
}

/**
 * Answers request `id` directly, without handlers: a success carrying
 * `result` (none when undefined). For layers that handle some requests
 * themselves (see `RpcInterceptor`). Does nothing on a closed connection.
 */
export function answerRequest(peer: RpcPeerApi, id: number, result?: unknown): void {
  sendDirect(peer, result === undefined ? { id } : { id, result })
}

/**
 * Answers request `id` with a fault of `code`. With `close`, the connection
 * is then ended without reading another byte: the fault is flushed first
 * and the peer sees a clean end (TLS close_notify, then FIN), so it can
 * read why it was turned away.
 */
export function refuseRequest(peer: RpcPeerApi, id: number, code: CioErrorCode, message: string, close = false): void {
  sendDirect(peer, { id, fault: { code, message } })
  if (close) peer.framed.closeAfterFlush()
}

function sendDirect(peer: RpcPeerApi, message: object): void {
  const framed = peer.framed
  if (framed.closed || !framed.socket.writable) return
  try {
    sendAnswer(framed, encodeFrame(message, framed.maxFrameBytes))
  } catch (error) {
    // Only a maxFrameBytes too small for a short answer gets here.
    framed.fail(error instanceof CioError ? error : new CioError(codes.INTERNAL_ERROR, String(error)))
  }
}

/** Whether `JSON.stringify` gives the value itself a form (nested parts aside). */
function hasJsonForm(value: unknown, undefinedOk: boolean): boolean {
  const type = typeof value
  if (type === 'undefined') return undefinedOk
  return type !== 'function' && type !== 'symbol' && type !== 'bigint'
}

/** The caller's cancel for request `id`: its run stops being answered. Unknown ids (already answered) are ignored. */
export function cancelRequest(peer: DispatchingPeer, id: number): void {
  peer._runs?.get(id)?.cancel()
}

/** Aborts the signals of the requests still being answered: their answers can no longer be sent. */
export function abortAnswering(peer: DispatchingPeer, cause: Error | undefined): void {
  const runs = peer._runs
  if (runs === undefined || runs.size === 0) return
  const reason = disconnectedReason(cause)
  for (const run of [...runs.values()]) run.abort(reason)
}

function cancelledReason(run: RequestRun): CioError {
  return new CioError(codes.CANCELLED, `the caller of ${quote(run.action)} cancelled the call`, { details: { action: run.action, id: run.id } })
}

function disconnectedReason(cause: Error | undefined): CioError {
  return new CioError(codes.DISCONNECTED, 'the connection closed before this request was answered', { cause })
}
