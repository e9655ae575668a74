import type { Listener } from '../lib/chain/types.js'
import type { SocketContext } from '../lib/core/types.js'
import { peerOf, RpcPeer } from '../lib/rpc/peer.js'
import { resolveRpcOptions } from '../lib/rpc/options.js'
import type { OptionsChecker } from '../lib/core/types.js'
import { frame, frameContextSocket } from './frame.js'

/**
 * `cio/rpc`: gives the socket an RPC peer, reached with `peerOf(socket)`,
 * framing it first if `cio/frame` has not. Options read from the cio
 * options: `handlers` (an `RpcHandlers` shared by every socket of the
 * chain), `callTimeout` (default 30 s), `maxPendingCalls` (default 1024),
 * `maxIncomingCalls` (default 1024),
 * `maxFrameBytes` (default 8 MiB). On a server, each new server client's
 * peer is announced with the server event `peer(peer, socket)`, the place
 * to add per-connection handlers or to call the client.
 */
export const rpc: Listener<SocketContext> & OptionsChecker = function rpc(_control, context) {
  const framed = frameContextSocket(context)
  if (framed === undefined || peerOf(framed.socket) !== undefined) return
  // The peer reads its own options (RpcPeerOptions) from the cio options.
  const peer = new RpcPeer(framed, context.options)
  if (context.serverClient !== undefined) context.server?.emit('peer', peer, framed.socket)
}
// Also after the socket makers: with `cio/frame` absent its id is ignored.
rpc.options = { id: 'cio/rpc', after: ['cio/frame', 'cio/authenticate-client', 'cio/createClient'] }
// A bad callTimeout or maxPendingCalls throws at cio.server()/cio.client().
rpc.checkOptions = (options) => {
  resolveRpcOptions(options)
}

/**
 * Framing and RPC together, in order: `cio.onServerClient(rpcListeners)`.
 * Add it once per chain; both listeners are idempotent on a socket, but the
 * orderer refuses the same id twice in one chain.
 */
export const rpcListeners: readonly [typeof frame, typeof rpc] = [frame, rpc]

export default rpcListeners

// What a user of these listeners needs, importable from this module alone
// (`import rpcListeners, { peerOf, RpcHandlers } from 'cio/listeners/rpc'`).
export { peerOf, attachRpc, RpcPeer } from '../lib/rpc/peer.js'
export { RpcHandlers } from '../lib/rpc/handlers.js'
export type { RpcCall, RpcHandler, RpcCatchAll, RpcHandlerMap } from '../lib/rpc/handlers.js'
export { RpcFault } from '../lib/rpc/protocol.js'
export { DEFAULT_CALL_TIMEOUT, DEFAULT_MAX_PENDING_CALLS, DEFAULT_MAX_INCOMING_CALLS } from '../lib/rpc/options.js'
export type { RpcPeerOptions, CallOptions } from '../lib/rpc/options.js'
export type { RpcMeta } from '../lib/rpc/meta.js'
export type { CallContext, HandleContext, CallInterceptor, HandleInterceptor, Interceptors } from '../lib/rpc/interceptors.js'
export { frame } from './frame.js'
export { framedOf } from '../lib/frame/framed-socket.js'
