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
import type { RpcCall, RpcPeerApi } from './types.js'

/** A peer as the dispatcher sees it: its public face, the registries it answers with, in order, and its count of requests being answered. */
export interface DispatchingPeer extends RpcPeerApi {
  readonly _registries: readonly RpcHandlers[]
  /** Requests being answered now. */
  _answering: number
  /** Requests being answered whose handlers asked for `call.signal`; made on first use. */
  _watched: Set<{ abort(reason: CioError): void }> | undefined
}

/** What a request interceptor returns when it answered or refused the request itself. */
export const HANDLED: unique symbol = Symbol('cio.rpc.handled')

/**
 * Runs the handlers for `request` and answers it; `caller` becomes the
 * handlers' `call.caller`. At `maxIncomingCalls` requests being answered
 * the connection stops being read until one is.
 */
export function handleRequest(peer: DispatchingPeer, request: RpcRequest, caller: object | undefined): void {
  if (++peer._answering >= peer.maxIncomingCalls) peer.framed.pauseReading(PAUSE_BUSY)
  new RequestRun(peer, request, caller).step(undefined)
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
 * One request being answered. It is also the `call` argument handlers get,
 * so a request costs one object; the cursor fields say which handler is
 * next: phase 0 walks the catch-alls of every registry, phase 1 the action's
 * handlers of every registry (shared registries first, the peer's own last).
 */
class RequestRun implements RpcCall {
  readonly action: string
  readonly id: number
  readonly peer: DispatchingPeer
  private readonly body: unknown
  private phase = 0
  private registry = 0
  private index = 0
  private ran = false
  private done = false
  private controller: AbortController | undefined = undefined

  constructor(peer: DispatchingPeer, request: RpcRequest, readonly caller: object | undefined) {
    this.peer = peer
    this.id = request.id
    this.action = request.action
    this.body = request.body
  }

  get socket(): Socket {
    return this.peer.socket
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      const peer = this.peer
      if (peer.closed) this.controller.abort(new CioError(codes.DISCONNECTED, 'the connection closed before this request was answered'))
      else if (!this.done) (peer._watched ??= new Set()).add(this)
    }
    return this.controller.signal
  }

  /** The connection closed while this request was being answered. */
  abort(reason: CioError): void {
    this.controller?.abort(reason)
  }

  /**
   * Calls handlers synchronously from the cursor on; stops at the first that
   * returns a thenable and resumes when it settles. `last` is the value the
   * previous handler produced.
   */
  step(last: unknown): void {
    const peer = this.peer
    try {
      for (;;) {
        // Read afresh each turn: a handler that adds the peer's first own
        // handler replaces the (possibly shared) array, and the new registry
        // must take part in this very run.
        const registry = peer._registries[this.registry]
        if (registry === undefined) {
          if (this.phase === 1) break
          this.phase = 1
          this.registry = 0
          this.index = 0
          continue
        }
        let value: unknown
        if (this.phase === 0) {
          const handler = registry._catchAll[this.index++]
          if (handler === undefined) {
            this.registry++
            this.index = 0
            continue
          }
          this.ran = true
          value = handler(this.action, this.body, this)
        } else {
          const handler = registry._actions.get(this.action)?.[this.index++]
          if (handler === undefined) {
            this.registry++
            this.index = 0
            continue
          }
          this.ran = true
          value = handler(this.body, this)
        }
        if (isPromiseLike(value)) {
          // Only handlers that really are asynchronous pay for the closures.
          Promise.resolve(value).then(
            (result) => this.step(result),
            (error: unknown) => this.fail(error),
          )
          return
        }
        last = value
      }
    } catch (error) {
      this.fail(error)
      return
    }
    if (!this.ran) this.fault(codes.UNKNOWN_ACTION, `no handler for action ${quote(this.action)}`)
    else this.succeed(last)
  }

  private succeed(result: unknown): void {
    if (!hasJsonForm(result, true)) {
      this.fault(codes.INTERNAL_ERROR, `the handler of ${quote(this.action)} returned a ${typeof result}, which has no JSON form`)
      return
    }
    this.send(result === undefined ? { id: this.id } : { id: this.id, result })
  }

  private fail(error: unknown): void {
    if (error instanceof RpcFault) this.fault(error.code, error.message)
    else if (error instanceof Error) this.fault(codes.INTERNAL_ERROR, error.message)
    else if (!hasJsonForm(error, false)) this.fault(codes.INTERNAL_ERROR, `the handler of ${quote(this.action)} threw a ${typeof error}, which has no JSON form`)
    else this.send({ id: this.id, error })
  }

  private fault(code: CioErrorCode, message: string): void {
    this.send({ id: this.id, fault: { code, message } })
  }

  /** Encodes and writes a response; an unencodable one becomes a fault. */
  private send(message: object): void {
    const peer = this.peer
    this.done = true
    answered(peer)
    if (this.controller !== undefined) peer._watched?.delete(this)
    const framed = peer.framed
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
