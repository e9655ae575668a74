/**
 * Streaming decoder for cio frames: a 4-byte length prefix, then that many
 * bytes of UTF-8 JSON.
 *
 * ```text
 *  0               1               2               3
 *  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
 * +---------------------------------------------------------------+
 * |        payload length N (unsigned 32-bit, big-endian)          |
 * +---------------------------------------------------------------+
 * |   payload: N bytes of UTF-8 encoded JSON (1 <= N <= max)  ...  |
 * +---------------------------------------------------------------+
 * ```
 *
 * Modelled on the ws receiver: chunks are kept in a list with a byte count
 * and are never re-concatenated, so the work is linear in the bytes received;
 * a payload that sits in one chunk is parsed from a view of that chunk and is
 * copied only when it spans chunks. The declared length is checked against
 * `maxFrameBytes` as soon as the header is complete, before any byte of the
 * payload is buffered, so a hostile prefix cannot make it allocate.
 *
 * Parsed values are plain JSON values. `JSON.parse` turns a `"__proto__"` key
 * into an ordinary own property (it never changes a prototype); nothing in
 * cio merges or assigns received objects into other objects, which is the
 * only way such a key could become dangerous. Keep it that way in handlers.
 */
import { isUtf8 } from 'node:buffer'
import { CioError, codes } from '../errors.js'
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth, resolveMaxJsonDepth } from './json-depth.js'

/** Default cap on one frame's payload: 8 MiB (8 388 608 bytes). */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024

/** The largest payload length a 4-byte prefix can declare. */
export const MAX_FRAME_LENGTH_FIELD = 0xffff_ffff

/** Bytes in the length prefix. */
export const FRAME_HEADER_BYTES = 4

/**
 * Receives what a {@link FrameDecoder} decodes. An object with two methods,
 * rather than two callbacks, so that an owner can pass itself (or one small
 * object) and no closure is made per connection.
 */
export interface FrameSink {
  /** One decoded JSON value, in the order the frames arrived. */
  onFrame(value: unknown): void
  /** The first (and only) protocol error; the decoder is dead afterwards. */
  onFrameError(error: CioError): void
}

/** Options of {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /**
   * Largest payload accepted, in bytes (the prefix not counted). A larger
   * declared length fails with `FRAME_TOO_LARGE` before it is buffered.
   * @default 8388608 (8 MiB)
   */
  maxFrameBytes?: number
  /**
   * Deepest nesting of arrays and objects accepted in a payload; a deeper
   * one fails with `FRAME_INVALID` before `JSON.parse` sees it.
   * @default 256
   */
  maxJsonDepth?: number
}

/**
 * Checks a `maxFrameBytes` value and applies the default.
 * @throws CioError `INVALID_OPTION` unless an integer in 1..2^32-1.
 */
export function resolveMaxFrameBytes(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_FRAME_BYTES
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_FRAME_LENGTH_FIELD) {
    throw new CioError(codes.INVALID_OPTION, `maxFrameBytes must be an integer from 1 to ${MAX_FRAME_LENGTH_FIELD}, got ${String(value)}`, {
      details: { option: 'maxFrameBytes', value },
    })
  }
  return value
}

const EMPTY = Buffer.alloc(0)

/**
 * Held chunks beyond this count, when small on average and few bytes in
 * all, are joined into one: a frame sent a byte per segment would otherwise
 * cost a Buffer object (about 100 bytes) per byte held. The byte bound keeps
 * the copying to a few hundred bytes per chunk received.
 */
const COMPACT_CHUNKS = 64
const SMALL_CHUNK_BYTES = 256
const COMPACT_MAX_BYTES = 64 * 1024

/**
 * Push-driven frame decoder: feed it socket chunks with {@link push}; it calls
 * the sink once per complete frame. After the first error it is dead: it
 * drops its buffers and ignores further input, so one bad frame ends the
 * stream (the owner is expected to close the connection).
 */
export class FrameDecoder {
  /** The payload cap in force; a layer may lower it for a while (see `FramedSocket.limitIncoming`). */
  maxFrameBytes: number
  /** The nesting cap in force. */
  readonly maxJsonDepth: number
  readonly #sink: FrameSink
  /**
   * Received chunks not yet consumed; the first may be partly consumed.
   * Made by the first chunk that is not exactly one frame: a connection
   * whose chunks each hold one whole frame never needs it.
   */
  #buffers: Buffer[] | undefined = undefined
  /** Bytes of `buffers[0]` already consumed. */
  #offset = 0
  /** Unconsumed bytes across `buffers`. */
  #buffered = 0
  /** Length of the payload being awaited, or -1 while awaiting a header. */
  #payloadLength = -1
  #failed = false
  /** While true, chunks are held but no frame is delivered (see {@link hold}). */
  #held = false
  /** Set while the loop delivers frames, so that `release` from a sink does not re-enter it. */
  #running = false

  constructor(sink: FrameSink, options: FrameDecoderOptions = {}) {
    this.#sink = sink
    this.maxFrameBytes = resolveMaxFrameBytes(options.maxFrameBytes)
    this.maxJsonDepth = options.maxJsonDepth === undefined ? DEFAULT_MAX_JSON_DEPTH : resolveMaxJsonDepth(options.maxJsonDepth)
  }

  /** True while delivery is held. */
  get isHeld(): boolean {
    return this.#held
  }

  /**
   * Stops delivering frames after the current one: what arrives is kept
   * (the owner is expected to stop reading the socket too, which bounds
   * it to about one read) until {@link release}.
   */
  hold(): void {
    this.#held = true
  }

  /** Delivers the frames held back, then carries on as usual. */
  release(): void {
    if (!this.#held) return
    this.#held = false
    if (!this.#running && !this.#failed && this.#buffered > 0) this.#run()
  }

  /** Bytes received and held while waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.#buffered
  }

  /** True after a protocol error: input is ignored from then on. */
  get dead(): boolean {
    return this.#failed
  }

  /**
   * Adds received bytes and delivers every frame they complete. Safe to call
   * with any split of the stream, including empty chunks.
   */
  push(chunk: Buffer): void {
    if (this.#failed || chunk.length === 0) return
    // Fast path: nothing held and the chunk is exactly one acceptable frame
    // (the usual case for a lone message). Anything else, errors included,
    // takes the general path below.
    if (this.#buffered === 0 && this.#payloadLength < 0 && !this.#held && chunk.length > FRAME_HEADER_BYTES) {
      const length = chunk.readUInt32BE(0)
      if (length === chunk.length - FRAME_HEADER_BYTES && length <= this.maxFrameBytes) {
        const value = this.#parse(chunk.subarray(FRAME_HEADER_BYTES))
        if (!this.#failed) this.#sink.onFrame(value)
        return
      }
    }
    const buffers = (this.#buffers ??= [])
    buffers.push(chunk)
    this.#buffered += chunk.length
    if (buffers.length > COMPACT_CHUNKS && this.#buffered <= COMPACT_MAX_BYTES && this.#buffered < buffers.length * SMALL_CHUNK_BYTES) this.#compact()
    if (!this.#held && !this.#running) this.#run()
  }

  /** Joins the held chunks into one. */
  #compact(): void {
    const buffers = this.#buffers ?? []
    const first = buffers[0] ?? EMPTY
    if (this.#offset > 0) buffers[0] = first.subarray(this.#offset)
    this.#buffers = [Buffer.concat(buffers, this.#buffered)]
    this.#offset = 0
  }

  /** Delivers every complete frame held, unless held or failed on the way. */
  #run(): void {
    this.#running = true
    try {
      this.#deliver()
    } finally {
      this.#running = false
    }
  }

  #deliver(): void {
    // Each turn consumes a header or a payload; both shrink `buffered`, so
    // the loop ends within (bytes / 4) turns.
    while (!this.#failed && !this.#held) {
      if (this.#payloadLength < 0) {
        if (this.#buffered < FRAME_HEADER_BYTES) return
        const length = this.#readHeader()
        if (length === 0) {
          this.#fail(new CioError(codes.FRAME_INVALID, 'frame declares a zero-length payload', { details: { length } }))
          return
        }
        if (length > this.maxFrameBytes) {
          this.#fail(
            new CioError(codes.FRAME_TOO_LARGE, `frame declares ${length} bytes, above the limit of ${this.maxFrameBytes} (maxFrameBytes, or the smaller limit before a handshake)`, {
              details: { length, maxFrameBytes: this.maxFrameBytes },
            }),
          )
          return
        }
        this.#payloadLength = length
      }
      if (this.#buffered < this.#payloadLength) return
      const payload = this.#consume(this.#payloadLength)
      this.#payloadLength = -1
      const value = this.#parse(payload)
      // The sink may destroy the connection (and so kill us) from inside.
      if (!this.#failed) this.#sink.onFrame(value)
    }
  }

  /** Reads the 4-byte prefix; only called when at least 4 bytes are held. */
  #readHeader(): number {
    const first = this.#buffers?.[0] ?? EMPTY
    if (first.length - this.#offset >= FRAME_HEADER_BYTES) {
      // Common case: read in place, no allocation.
      const length = first.readUInt32BE(this.#offset)
      this.#offset += FRAME_HEADER_BYTES
      this.#buffered -= FRAME_HEADER_BYTES
      if (this.#offset === first.length) this.#dropFirst()
      return length
    }
    return this.#consume(FRAME_HEADER_BYTES).readUInt32BE(0)
  }

  /**
   * Removes `n` bytes (n <= buffered) from the front and returns them: a view
   * when they lie in one chunk, a single copy when they span several.
   */
  #consume(n: number): Buffer {
    this.#buffered -= n
    const buffers = this.#buffers ?? []
    const first = buffers[0] ?? EMPTY
    const available = first.length - this.#offset
    if (n <= available) {
      const view = this.#offset === 0 && n === first.length ? first : first.subarray(this.#offset, this.#offset + n)
      this.#offset += n
      if (this.#offset === first.length) this.#dropFirst()
      return view
    }
    const out = Buffer.allocUnsafe(n)
    let written = 0
    let index = 0
    let offset = this.#offset
    while (written < n) {
      const chunk = buffers[index] ?? EMPTY
      const take = Math.min(chunk.length - offset, n - written)
      chunk.copy(out, written, offset, offset + take)
      written += take
      offset += take
      if (offset === chunk.length) {
        index++
        offset = 0
      }
    }
    // One splice for all the chunks used up, so a frame that arrived in a
    // million one-byte chunks costs one pass, not a million shifts.
    buffers.splice(0, index)
    this.#offset = offset
    return out
  }

  #dropFirst(): void {
    this.#buffers?.shift()
    this.#offset = 0
  }

  /** Strict UTF-8 check, then JSON; either failure kills the decoder. */
  #parse(payload: Buffer): unknown {
    if (!isUtf8(payload)) {
      this.#fail(new CioError(codes.FRAME_INVALID, `frame payload of ${payload.length} bytes is not valid UTF-8`, { details: { length: payload.length } }))
      return undefined
    }
    if (exceedsJsonDepth(payload, this.maxJsonDepth)) {
      this.#fail(new CioError(codes.FRAME_INVALID, `frame payload nests arrays or objects deeper than maxJsonDepth ${this.maxJsonDepth}`, { details: { length: payload.length, maxJsonDepth: this.maxJsonDepth } }))
      return undefined
    }
    try {
      return JSON.parse(payload.toString('utf8')) as unknown
    } catch (cause) {
      this.#fail(new CioError(codes.FRAME_INVALID, `frame payload of ${payload.length} bytes is not valid JSON`, { cause, details: { length: payload.length } }))
      return undefined
    }
  }

  /**
   * Stops decoding without reporting anything: buffers are released and the
   * rest of the chunk being pushed, if any, is not delivered. For an owner
   * that rejects a frame's content (an invalid RPC message, say) from inside
   * `onFrame`, or that closes the connection.
   */
  destroy(): void {
    this.#failed = true
    this.#buffers = undefined
    this.#buffered = 0
    this.#offset = 0
  }

  #fail(error: CioError): void {
    this.destroy()
    this.#sink.onFrameError(error)
  }
}
