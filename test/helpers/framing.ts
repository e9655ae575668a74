import { once } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import type { Test } from 'tap'
import { CioError } from '../../lib/errors.js'
import { encodeFrame } from '../../lib/frame/encoder.js'
import { track } from './net.js'

/** A length prefix declaring `length` bytes. */
export function header(length: number): Buffer {
  const buffer = Buffer.alloc(4)
  buffer.writeUInt32BE(length, 0)
  return buffer
}

/** A frame around arbitrary payload bytes (which need not be JSON). */
export function rawFrame(payload: string | Buffer): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
  return Buffer.concat([header(bytes.length), bytes])
}

/** The hostile inputs every framed server must survive, with the code each earns. */
export const HOSTILE_FRAMES: ReadonlyArray<{ name: string; bytes: Buffer; code: string }> = [
  { name: 'a huge length prefix', bytes: header(0xffffffff), code: 'FRAME_TOO_LARGE' },
  { name: 'a length just above the cap', bytes: Buffer.concat([header(8 * 1024 * 1024 + 1), Buffer.alloc(1000)]), code: 'FRAME_TOO_LARGE' },
  { name: 'an HTTP request (garbage)', bytes: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), code: 'FRAME_TOO_LARGE' },
  { name: 'a zero length', bytes: header(0), code: 'FRAME_INVALID' },
  { name: 'invalid UTF-8', bytes: rawFrame(Buffer.from([0x22, 0xc3, 0x28, 0x22])), code: 'FRAME_INVALID' },
  { name: 'invalid JSON', bytes: rawFrame('{"id":1,'), code: 'FRAME_INVALID' },
  { name: 'binary garbage in a frame', bytes: rawFrame(Buffer.from([0, 1, 2, 3, 254, 255])), code: 'FRAME_INVALID' },
]

/** Opens a raw (unframed) connection, closed at teardown. Socket errors are expected and kept. */
export async function rawConnect(t: Test, port: number, secure: false | tls.ConnectionOptions = false): Promise<net.Socket> {
  const socket = track(t, secure === false ? net.connect({ port, host: '127.0.0.1' }) : tls.connect({ port, host: '127.0.0.1', ...secure }))
  // The server resets hostile connections; that must not fail the test.
  socket.on('error', () => {})
  // Keep reading (and discarding) so the server's FIN is seen and 'close' fires.
  socket.resume()
  await once(socket, secure === false ? 'connect' : 'secureConnect')
  return socket
}

/** Resolves when `socket` has closed (at once if it already has). */
export async function closed(socket: net.Socket): Promise<void> {
  if (socket.closed) return
  await once(socket, 'close')
}

/** Sends one value as a frame over a raw socket. */
export function writeValue(socket: net.Socket, value: unknown): void {
  socket.write(encodeFrame(value))
}

/** Reads frames from a raw socket, for checking what a peer put on the wire. */
export class RawReader {
  private buffered = Buffer.alloc(0)
  private readonly waiting: Array<{ resolve(value: unknown): void; reject(error: Error): void }> = []
  private readonly values: unknown[] = []
  private ended = false

  constructor(socket: net.Socket) {
    socket.on('close', () => {
      this.ended = true
      for (const waiter of this.waiting.splice(0)) waiter.reject(new Error('the socket closed before the frame came'))
    })
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk])
      while (this.buffered.length >= 4) {
        const length = this.buffered.readUInt32BE(0)
        if (this.buffered.length < 4 + length) break
        const value: unknown = JSON.parse(this.buffered.subarray(4, 4 + length).toString('utf8'))
        this.buffered = this.buffered.subarray(4 + length)
        const waiter = this.waiting.shift()
        if (waiter !== undefined) waiter.resolve(value)
        else this.values.push(value)
      }
    })
  }

  /** The next frame's value; rejects when the socket closes first or none comes within `timeout` ms, so a broken test fails instead of hanging. */
  next(timeout = 10_000): Promise<unknown> {
    if (this.values.length > 0) return Promise.resolve(this.values.shift())
    if (this.ended) return Promise.reject(new Error('the socket closed before the frame came'))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1)
        reject(new Error(`no frame within ${timeout} ms`))
      }, timeout)
      const waiter = {
        resolve: (value: unknown) => (clearTimeout(timer), resolve(value)),
        reject: (error: Error) => (clearTimeout(timer), reject(error)),
      }
      this.waiting.push(waiter)
    })
  }
}

/** Awaits a promise expected to reject and returns the rejection value. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected the promise to reject')
}

/** Awaits a promise expected to reject with a CioError and returns it. */
export async function cioRejection(promise: Promise<unknown>): Promise<CioError> {
  const error = await rejection(promise)
  if (!(error instanceof CioError)) throw new Error(`expected a CioError, got ${String(error)}`)
  return error
}
