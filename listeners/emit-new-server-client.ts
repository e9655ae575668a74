import type { Server, Socket } from 'node:net'
import { TLSSocket } from 'node:tls'
import type { Cio } from '../lib/core/types.js'
import type { Listener } from '../lib/chain/types.js'
import { ChainError } from '../lib/chain/chain-error.js'
import type { ServerContext } from '../lib/core/types.js'
import type { CioOptions } from '../lib/core/options.js'
import { guardSocket } from '../lib/core/socket-guard.js'
import { connectionChannel, type ConnectionMessage } from '../lib/core/diagnostics.js'
import { serverClientContextOf } from '../lib/core/context.js'

interface ServerState {
  cio: Cio
  options: CioOptions
  secure: boolean
  owner: object | undefined
}

const servers = new WeakMap<Server, ServerState>()

function serverOnConnection(this: Server, socket: Socket): void {
  const state = servers.get(this)
  if (state === undefined) return
  // A reset from one client must never take the process down; its errors
  // become this server's `serverClientError` events.
  guardSocket(socket, this)
  // Renegotiation only serves a client that wants the server to redo
  // expensive work (TLS 1.2; TLS 1.3 has none): refused, the guard closes it.
  if (socket instanceof TLSSocket) socket.disableRenegotiation()
  if (connectionChannel.hasSubscribers) connectionChannel.publish({ socket, remoteAddress: socket.remoteAddress, secure: state.secure } satisfies ConnectionMessage)
  const context = serverClientContextOf(this, socket, state)
  const result = state.cio.getServerClientChain().run({ context })
  if (result.failed !== undefined || (!result.result && result.paused === undefined)) {
    this.emit('serverClientError', new ChainError('server-client', result), socket)
    socket.destroy()
  }
}

/**
 * A TLS handshake that failed or timed out (`handshakeTimeout`): Node only
 * reports it, and a socket left open would hold a descriptor for good.
 */
function serverOnTlsClientError(_error: Error, socket: Socket): void {
  socket.destroy()
}

/**
 * Runs the server-client chain for every accepted connection: on
 * `secureConnection` for TLS, so listeners see an authenticated socket,
 * and on `connection` otherwise. A TLS server also destroys every socket
 * whose TLS handshake fails.
 */
export const emitNewServerClient: Listener<ServerContext> = function emitNewServerClient(_control, context) {
  const { server, cio, options, owner } = context
  if (server === undefined) return
  const secure = context.secure === true
  servers.set(server, { cio, options, secure, owner })
  server.on(secure ? 'secureConnection' : 'connection', serverOnConnection)
  if (secure) server.on('tlsClientError', serverOnTlsClientError)
}
emitNewServerClient.options = { id: 'cio/emit-new-server-client', after: ['cio/createServer'] }

export default emitNewServerClient
