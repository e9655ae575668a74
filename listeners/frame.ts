import type { Listener } from '../lib/chain/types.js'
import { socketOf, type SocketContext } from '../lib/core/types.js'
import { attachFramed, framedOf, type FramedSocket } from '../lib/frame/framed-socket.js'
import { resolveMaxFrameBytes } from '../lib/frame/decoder.js'
import { resolveMaxJsonDepth } from '../lib/frame/json-depth.js'
import type { OptionsChecker } from '../lib/core/types.js'

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
  // A server client's protocol errors reach its server through the socket
  // guard that cio/emit-new-server-client set on it.
  const { maxFrameBytes, noDelay, maxJsonDepth } = context.options
  return attachFramed(socket, { maxFrameBytes, noDelay, maxJsonDepth })
}

/**
 * `cio/frame`: gives the socket a message interface, reached with
 * `framedOf(socket)`: `send(value)`, `message` events, backpressure through
 * `send`'s result and `drained()`. Options `maxFrameBytes` (default 8 MiB)
 * and `maxJsonDepth` (default 256).
 * On a server, every server client's protocol error is also emitted by the
 * server as `protocolError(error, socket)`.
 */
export const frame: Listener<SocketContext> & OptionsChecker = function frame(_control, context) {
  frameContextSocket(context)
}
frame.options = { id: 'cio/frame', after: ['cio/authenticate-client', 'cio/createClient'] }
// A bad maxFrameBytes throws at cio.server()/cio.client().
frame.checkOptions = (options) => {
  resolveMaxFrameBytes(options.maxFrameBytes)
  resolveMaxJsonDepth(options.maxJsonDepth)
}

export default frame

export { framedOf, attachFramed, FramedSocket } from '../lib/frame/framed-socket.js'
export type { FramedSocketEvents, FramedSocketOptions } from '../lib/frame/framed-socket.js'
export { DEFAULT_MAX_FRAME_BYTES } from '../lib/frame/decoder.js'
export { DEFAULT_MAX_JSON_DEPTH } from '../lib/frame/json-depth.js'
