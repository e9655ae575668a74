import net from 'node:net'
import tls from 'node:tls'
import type { Listener } from '../lib/chain/types.js'
import type { ServerContext } from '../lib/core/types.js'

/** Makes the server with `tls.createServer` or `net.createServer`; it is not listening yet. */
export const createServer: Listener<ServerContext> = function createServer(_control, context) {
  const { options } = context
  context.server = context.secure === true ? tls.createServer(options as tls.TlsOptions) : net.createServer(options as net.ServerOpts)
}
createServer.options = { id: 'cio/createServer', after: ['cio/secure', 'cio/ensure-certs', 'cio/move-aliases'] }

export default createServer
