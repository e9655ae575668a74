/**
 * The benchmark's baseline: the same wire protocol (4-byte big-endian length,
 * UTF-8 JSON, `{id, action, body}` / `{id, result}`) written by hand in the
 * most direct way, without cio: no validation, no events, no timers, no
 * abort support. It is the practical upper bound cio is measured against.
 */
import type { Socket } from 'node:net'

/** Calls `onValue` for every complete frame of a socket; copies only partial frames. */
export function readFrames(socket: Socket, onValue: (value: { id: number; body?: unknown; result?: unknown }) => void): void {
  let rest: Buffer | undefined
  socket.on('data', (chunk: Buffer) => {
    let buffer = rest === undefined ? chunk : Buffer.concat([rest, chunk])
    let offset = 0
    while (buffer.length - offset >= 4) {
      const length = buffer.readUInt32BE(offset)
      if (buffer.length - offset - 4 < length) break
      onValue(JSON.parse(buffer.toString('utf8', offset + 4, offset + 4 + length)))
      offset += 4 + length
    }
    rest = offset === buffer.length ? undefined : buffer.subarray(offset)
    buffer = rest ?? buffer
  })
}

/** Frames one value: one allocation, one write. */
export function writeFrame(socket: Socket, value: unknown): boolean {
  const json = JSON.stringify(value)
  const length = Buffer.byteLength(json)
  const frame = Buffer.allocUnsafe(4 + length)
  frame.writeUInt32BE(length, 0)
  frame.write(json, 4)
  return socket.write(frame)
}

/** Answers every request with its body: the hand-written echo server. */
export function serveEcho(socket: Socket): void {
  readFrames(socket, (request) => writeFrame(socket, { id: request.id, result: request.body }))
}

/** A hand-written caller: ids, a map of resolvers, nothing else. */
export class BaselineClient {
  private nextId = 0
  private readonly pending = new Map<number, (value: unknown) => void>()
  constructor(private readonly socket: Socket) {
    readFrames(socket, (response) => {
      const resolve = this.pending.get(response.id)
      this.pending.delete(response.id)
      resolve?.(response.result)
    })
  }
  call(action: string, body: unknown): Promise<unknown> {
    const id = ++this.nextId
    return new Promise((resolve) => {
      this.pending.set(id, resolve)
      writeFrame(this.socket, { id, action, body })
    })
  }
}
