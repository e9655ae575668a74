import net from 'node:net'
import tls from 'node:tls'
import type { Listener } from '../lib/chain/types.js'
import type { ServerContext } from '../lib/core/types.js'
import type { OptionsChecker } from '../lib/core/types.js'
import { checkConnectHooks } from '../lib/core/connect-hooks.js'

/**
 * Makes the server with `tls.createServer` or `net.createServer`; it is not
 * listening yet. As in cio 0.5, `onConnect` listens to the server's
 * `connection` event and, with TLS, `onSecureConnect` to `secureConnection`:
 * each is called with the accepted socket and `this` = the server.
 */
export const createServer: Listener<ServerContext> & OptionsChecker = function createServer(_control, context) {
  const { options } = context
  const server = context.secure === true ? tls.createServer(options as tls.TlsOptions) : net.createServer(options as net.ServerOpts)
  const { onConnect, onSecureConnect } = options
  if (typeof onConnect === 'function') server.on('connection', onConnect)
  if (typeof onSecureConnect === 'function' && server instanceof tls.Server) server.on('secureConnection', onSecureConnect)
  context.server = server
}
createServer.options = { id: 'cio/createServer', after: ['cio/secure', 'cio/ensure-certs', 'cio/move-aliases'] }
createServer.checkOptions = checkConnectHooks

export default createServer
