import type { Server, Socket } from 'node:net'
import type { Listener } from '../lib/chain.js'
import { socketOf, type SocketContext } from '../lib/context.js'
import type { CioError } from '../lib/errors.js'
import { attachFramed, framedOf, type FramedSocket } from '../lib/framed-socket.js'

/** Server of each framed server client, for forwarding its protocol errors. */
const serverOf = new WeakMap<Socket, Server>()

/**
 * Re-emits a server client's protocol error on its server as
 * `protocolError(error, socket)`, so one listener sees them all. A module
 * function, found through the WeakMap: no closure per connection.
 */
function forwardProtocolError(this: FramedSocket, error: CioError): void {
  serverOf.get(this.socket)?.emit('protocolError', error, this.socket)
}

/**
 * Frames the socket of a client or server-client chain run, once: a second
 * call (the frame listener added twice, or `cio/rpc` after `cio/frame`)
 * returns the same FramedSocket and adds nothing.
 * @returns undefined when the context has no socket yet.
 * @throws CioError `INVALID_OPTION` for a bad `maxFrameBytes` option.
 */
export function frameContextSocket(context: SocketContext): FramedSocket | undefined {
  const socket = socketOf(context)
  if (socket === undefined) return undefined
  const existing = framedOf(socket)
  if (existing !== undefined) return existing
  const framed = attachFramed(socket, { maxFrameBytes: context.options.maxFrameBytes as number | undefined })
  if (context.serverClient !== undefined && context.server !== undefined) {
    serverOf.set(socket, context.server)
    framed.on('protocolError', forwardProtocolError)
  }
  return framed
}

/**
 * `cio/frame`: gives the socket a message interface, reached with
 * `framedOf(socket)`: `send(value)`, `message` events, backpressure through
 * `send`'s result and `drained()`. Option `maxFrameBytes` (default 8 MiB).
 * On a server, every server client's protocol error is also emitted by the
 * server as `protocolError(error, socket)`.
 */
export const frame: Listener<SocketContext> = function frame(_control, context) {
  frameContextSocket(context)
}
frame.options = { id: 'cio/frame', after: ['cio/authenticate-client', 'cio/createClient'] }

export default frame

export { framedOf, attachFramed, FramedSocket } from '../lib/framed-socket.js'
export type { FramedSocketEvents, FramedSocketOptions } from '../lib/framed-socket.js'
export { DEFAULT_MAX_FRAME_BYTES } from '../lib/frame-decoder.js'
