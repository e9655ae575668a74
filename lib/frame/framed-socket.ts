/**
 * The message-level face of a socket: `send(value)` out, `message` events in,
 * one cio frame per value (see `decoder.ts` for the layout).
 *
 * The socket handlers are named module-level functions that find their
 * FramedSocket through a symbol on the socket, as ws does, so attaching to a
 * connection makes no closures. Whatever is attached is detached on close.
 */
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { CioError, codes } from '../errors.js'
import { FrameDecoder, resolveMaxFrameBytes } from './decoder.js'
import { resolveMaxJsonDepth } from './json-depth.js'
import { kFramed } from '../core/symbols.js'
import { encodeFrame } from './encoder.js'
import { guardSocket, serverOfSocket, socketErrorOf } from '../core/socket-guard.js'
import { protocolErrorChannel, type ProtocolErrorMessage } from '../core/diagnostics.js'

/** Events of a {@link FramedSocket}, typed for `on`/`once`/`emit`. */
export interface FramedSocketEvents {
  /** One decoded JSON value. */
  message: [value: unknown]
  /**
   * The peer broke the protocol (`FRAME_TOO_LARGE`, `FRAME_INVALID`, or a
   * layer above reporting e.g. `INVALID_MESSAGE`). The socket is already
   * being destroyed; `close` follows. Emitted at most once. Deliberately not
   * named `error`, so that a missing listener can never crash the process.
   */
  protocolError: [error: CioError]
  /** The socket's write buffer emptied after `send` returned false. */
  drain: []
  /**
   * The socket closed. `error` is the socket error that closed it (for
   * example ECONNRESET), if any; a protocol error was reported before.
   */
  close: [error: Error | undefined]
}

/** Options of {@link FramedSocket}; all optional. */
export interface FramedSocketOptions {
  /**
   * Largest frame payload accepted and sent, in bytes. Both ends should use
   * the same value: a larger incoming frame closes the connection with
   * `FRAME_TOO_LARGE`, a larger outgoing value makes `send` throw it.
   * @default 8388608 (8 MiB)
   */
  maxFrameBytes?: number
  /**
   * Turn off Nagle's algorithm (TCP_NODELAY) on the socket. A framed socket
   * already sends the frames of one tick together, so Nagle's wait for an
   * acknowledgement would only delay the tail of a large frame or a lone
   * answer. `false` leaves the socket's setting alone.
   * @default true
   */
  noDelay?: boolean
  /**
   * Deepest nesting of arrays and objects accepted in an incoming frame; a
   * deeper one closes the connection with `FRAME_INVALID` before it is parsed.
   * @default 256
   */
  maxJsonDepth?: number
}

/** Why reading is paused: the requests being answered reached their cap. */
export const PAUSE_BUSY = 1
/** Why reading is paused: the socket's write buffer is full (the peer does not read its answers). */
export const PAUSE_WRITE = 2
/** Why reading is paused: this connection had its share of frames for this turn of the event loop. */
export const PAUSE_TURN = 4

/**
 * Bytes read ahead while frames are held: the socket is only paused past
 * them, so that a peer that closes while a few calls wait is noticed at
 * once (a paused socket does not see the FIN), and the kernel and TCP's
 * window hold back the rest.
 */
const READ_AHEAD_BYTES = 256 * 1024

/**
 * Frames one connection may deliver before the others get their turn: a
 * peer flooding tiny frames (pings) would otherwise keep the event loop on
 * its socket for a whole read of 32 chunks, tens of thousands of frames.
 */
const FRAMES_PER_TURN = 256

/** The event-loop turn frames are counted in: moved on by one `setImmediate` per turn with traffic, shared by every connection. */
let currentTurn = 0
let turnScheduled = false

function nextTurn(): void {
  currentTurn++
  turnScheduled = false
}


/** Nothing sent this tick / one frame sent directly / later frames corked. */
const BATCH_IDLE = 0
const BATCH_SENT = 1
const BATCH_CORKED = 2
type Batch = typeof BATCH_IDLE | typeof BATCH_SENT | typeof BATCH_CORKED

/** A socket as seen by the handlers below: it carries its FramedSocket. */
interface SocketWithFramed extends Socket {
  [kFramed]?: FramedSocket
}

/**
 * @internal A layer that hears a FramedSocket's messages and its close
 * directly, before the listeners and without being one: a listener would
 * cost every connection an event table. One module-level object serves
 * every connection (the RPC peer is one); state is found from the socket.
 */
export interface FramedOwner {
  /** One decoded value, before the `message` listeners get it. */
  message(framed: FramedSocket, value: unknown): void
  /** The socket closed, before the `close` listeners hear it; the owner is dropped first. */
  closed(framed: FramedSocket, error: Error | undefined): void
}

/**
 * Frames one socket. Create it with {@link attachFramed} (or let the
 * `cio/frame` listener do it) and reach it later with {@link framedOf}.
 *
 * Backpressure: {@link send} returns what `socket.write` returned. `false`
 * means the frame was queued but the socket's buffer is above its
 * highWaterMark: stop sending and wait for the `drain` event or
 * `await framed.drained()` before sending more. Nothing is ever dropped;
 * ignoring `false` only grows memory.
 */
export class FramedSocket extends EventEmitter<FramedSocketEvents> {
  /** The framed socket (a TLSSocket for TLS connections). */
  readonly socket: Socket
  /** The payload cap in force, in bytes. */
  readonly maxFrameBytes: number
  /** @internal */ _decoder: FrameDecoder | undefined
  /** @internal */ _closed = false
  /** @internal */ _failure: CioError | undefined
  /** @internal */ _drain: Deferred | undefined
  /** @internal Where this tick's sending stands: see {@link sendFrame}. */
  _batch: Batch = BATCH_IDLE
  /** @internal See {@link FramedOwner}. */
  _owner: FramedOwner | undefined = undefined
  /** @internal Why reading is paused: a mask of `PAUSE_*` bits, 0 while reading. */
  _paused = 0
  /** @internal Frames delivered in turn {@link _turn} of the event loop. */
  _turnFrames = 0
  /** @internal */
  _turn = -1

  /** Prefer {@link attachFramed}, which refuses to frame a socket twice. */
  constructor(socket: Socket, options: FramedSocketOptions = {}) {
    super()
    // No event table until the first listener: most framed sockets are
    // heard only through their owner, and an empty table costs each
    // connection ~56 bytes. EventEmitter treats a missing table as empty
    // (it is the state `EventEmitter.init` itself checks for).
    ;(this as unknown as { _events: object | undefined })._events = undefined
    this.socket = socket
    this.maxFrameBytes = resolveMaxFrameBytes(options.maxFrameBytes)
    // Its own decoder's sink: no relay object per connection.
    this._decoder = new FrameDecoder(this, { maxFrameBytes: this.maxFrameBytes, maxJsonDepth: resolveMaxJsonDepth(options.maxJsonDepth) })
    ;(socket as SocketWithFramed)[kFramed] = this
    if (socket.destroyed) {
      this._closed = true
      this._decoder = undefined
      return
    }
    if (options.noDelay !== false) socket.setNoDelay(true)
    socket.on('data', framedOnData)
    socket.on('drain', framedOnDrain)
    socket.on('close', framedOnClose)
    guardSocket(socket)
  }

  /** @internal The decoder's output: the owner first, then the `message` listeners. */
  onFrame(value: unknown): void {
    if (this._turn !== currentTurn) {
      this._turn = currentTurn
      this._turnFrames = 0
      if (!turnScheduled) {
        turnScheduled = true
        setImmediate(nextTurn)
      }
    }
    if (++this._turnFrames >= FRAMES_PER_TURN) {
      this.pauseReading(PAUSE_TURN)
      setImmediate(endTurn, this)
    }
    const owner = this._owner
    if (owner !== undefined) owner.message(this, value)
    this.emit('message', value)
  }

  /** @internal The decoder's protocol error. */
  onFrameError(error: CioError): void {
    this.fail(error)
  }

  /** The protocol error that closed the connection, if one did. */
  get failure(): CioError | undefined {
    return this._failure
  }

  /** True once the socket has closed (or was already destroyed when framed). */
  get closed(): boolean {
    return this._closed
  }

  /**
   * Sends one JSON value as one frame.
   * @returns the `socket.write` result: `false` when the socket's buffer is
   * full; wait for `drain` (or {@link drained}) before sending more.
   * @throws CioError `DISCONNECTED` when the socket is no longer writable,
   * `INVALID_MESSAGE` when the value has no JSON form, `FRAME_TOO_LARGE`
   * when it is above `maxFrameBytes`. Nothing is written in those cases.
   */
  send(value: unknown): boolean {
    return this.sendFrame(encodeFrame(value, this.maxFrameBytes))
  }

  /**
   * Sends a frame made with `encodeFrame`/`encodeJsonFrame`; same contract
   * as {@link send}. Useful to encode once and send to many sockets.
   */
  sendFrame(frame: Buffer): boolean {
    const socket = this.socket
    if (this._closed || !socket.writable) {
      throw new CioError(codes.DISCONNECTED, 'cannot send: the socket is closed or ending')
    }
    // The first frame of a tick leaves at once (no added latency for a lone
    // call); the frames that follow it in the same tick are corked and leave
    // together in one writev when the tick ends: one syscall for a burst of
    // calls or answers instead of one each.
    const batch = this._batch
    if (batch === BATCH_CORKED) return socket.write(frame)
    if (batch === BATCH_IDLE) {
      this._batch = BATCH_SENT
      process.nextTick(endBatch, this)
      return socket.write(frame)
    }
    this._batch = BATCH_CORKED
    socket.cork()
    return socket.write(frame)
  }

  /**
   * Resolves when the socket can take more data: at once if its buffer is
   * not full, else at the next `drain`. Rejects with `DISCONNECTED` if the
   * socket closes first. Concurrent callers share one promise.
   */
  drained(): Promise<void> {
    if (this._closed) return Promise.reject(new CioError(codes.DISCONNECTED, 'socket closed while waiting for drain'))
    if (!this.socket.writableNeedDrain) return Promise.resolve()
    this._drain ??= new Deferred()
    return this._drain.promise
  }

  /**
   * Caps incoming frames at `bytes` from now on (at most `maxFrameBytes`):
   * a layer that has not authenticated its peer yet lowers the cap, and
   * puts it back once it has.
   */
  limitIncoming(bytes: number): void {
    const decoder = this._decoder
    if (decoder !== undefined) decoder.maxFrameBytes = Math.min(resolveMaxFrameBytes(bytes), this.maxFrameBytes)
  }

  /** Why reading is paused (a mask of `PAUSE_*` bits); 0 while reading. */
  get readingPaused(): number {
    return this._paused
  }

  /**
   * Stops reading for `reason` (a `PAUSE_*` bit): no frame is delivered
   * after the current one; bytes are still read up to a small read-ahead
   * (so a close is seen), then the socket is paused and the kernel's
   * buffers and TCP's window hold the peer back. Reading resumes once every
   * reason is lifted with {@link resumeReading}.
   */
  pauseReading(reason: number): void {
    if (this._closed) return
    const before = this._paused
    this._paused = before | reason
    if (before !== 0) return
    const decoder = this._decoder
    decoder?.hold()
    if (decoder !== undefined && decoder.bufferedBytes > READ_AHEAD_BYTES) this.socket.pause()
  }

  /** Lifts one reason given to {@link pauseReading}. */
  resumeReading(reason: number): void {
    if ((this._paused & reason) === 0) return
    this._paused &= ~reason
    if (this._paused !== 0 || this._closed) return
    // Frames held back go first; one of them may pause reading again.
    this._decoder?.release()
    if (this._paused === 0 && !this._closed && this.socket.isPaused()) this.socket.resume()
  }

  /**
   * Ends the connection without reading another byte: decoding stops, the
   * socket is paused and ended, and destroyed as soon as what was written
   * before (a refusal, say) has been handed to the kernel.
   */
  closeAfterFlush(): void {
    if (this._closed) return
    this._decoder?.destroy()
    this._decoder = undefined
    const socket = this.socket
    socket.pause()
    if (socket.writableFinished || !socket.writable) {
      socket.destroy()
      return
    }
    socket.once('finish', destroyThis)
    socket.end()
  }

  /**
   * Reports a protocol error and closes the connection: destroys the socket
   * (without an `error` event), then emits `protocolError`. Only the first
   * call has an effect; used by the decoder and by layers above (RPC).
   */
  fail(error: CioError): void {
    if (this._failure !== undefined || this._closed) return
    this._failure = error
    // Also stops the frames that follow in the chunk being decoded.
    this._decoder?.destroy()
    this._decoder = undefined
    this.socket.destroy()
    this.emit('protocolError', error)
    if (protocolErrorChannel.hasSubscribers) protocolErrorChannel.publish({ socket: this.socket, remoteAddress: this.socket.remoteAddress, code: error.code, error } satisfies ProtocolErrorMessage)
    // A server client's protocol error is also its server's, so that one
    // listener there sees them all.
    serverOfSocket(this.socket)?.emit('protocolError', error, this.socket)
  }
}

/** A promise with its settle functions, made only when someone waits. */
class Deferred {
  readonly promise: Promise<void>
  resolve!: () => void
  reject!: (error: Error) => void
  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
  }
}

function endBatch(framed: FramedSocket): void {
  if (framed._batch === BATCH_CORKED) framed.socket.uncork()
  framed._batch = BATCH_IDLE
}

function framedOnData(this: SocketWithFramed, chunk: Buffer): void {
  const framed = this[kFramed]
  const decoder = framed?._decoder
  if (decoder === undefined) return
  decoder.push(chunk)
  if ((framed as FramedSocket)._paused !== 0 && decoder.bufferedBytes > READ_AHEAD_BYTES) this.pause()
}

function endTurn(framed: FramedSocket): void {
  framed.resumeReading(PAUSE_TURN)
}

function destroyThis(this: Socket): void {
  this.destroy()
}

function framedOnDrain(this: SocketWithFramed): void {
  const framed = this[kFramed]
  if (framed === undefined) return
  framed.resumeReading(PAUSE_WRITE)
  const waiter = framed._drain
  framed._drain = undefined
  waiter?.resolve()
  framed.emit('drain')
}

function framedOnClose(this: SocketWithFramed): void {
  const framed = this[kFramed]
  if (framed === undefined || framed._closed) return
  framed._closed = true
  framed._decoder?.destroy()
  framed._decoder = undefined
  // The guard's error listener stays: a late write error must not crash either.
  this.off('data', framedOnData)
  this.off('drain', framedOnDrain)
  this.off('close', framedOnClose)
  // The error that destroyed the socket, if one did (ECONNRESET, a TLS alert...).
  const socketError = socketErrorOf(this)
  const waiter = framed._drain
  framed._drain = undefined
  waiter?.reject(new CioError(codes.DISCONNECTED, 'socket closed while waiting for drain', { cause: socketError }))
  const owner = framed._owner
  if (owner !== undefined) {
    framed._owner = undefined
    owner.closed(framed, socketError)
  }
  framed.emit('close', socketError)
}

/** The FramedSocket of `socket`, if it has one. */
export function framedOf(socket: Socket): FramedSocket | undefined {
  return (socket as SocketWithFramed)[kFramed]
}

/**
 * Frames `socket`, or returns its existing FramedSocket (whose options then
 * win), so that attaching twice is harmless.
 * @throws CioError `INVALID_OPTION` for a bad `maxFrameBytes`.
 */
export function attachFramed(socket: Socket, options: FramedSocketOptions = {}): FramedSocket {
  return framedOf(socket) ?? new FramedSocket(socket, options)
}
