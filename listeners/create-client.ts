import net from 'node:net'
import tls from 'node:tls'
import type { Listener } from '../lib/chain/types.js'
import type { ClientContext } from '../lib/core/types.js'
import type { OptionsChecker } from '../lib/core/types.js'
import { checkConnectHooks } from '../lib/core/connect-hooks.js'

/**
 * Opens the client socket with `tls.connect` or `net.connect` and attaches the
 * user's `onConnect`/`onSecureConnect` before any event can fire.
 */
export const createClient: Listener<ClientContext> & OptionsChecker = function createClient(_control, context) {
  const { options } = context
  const client = context.secure === true ? tls.connect(options as tls.ConnectionOptions) : net.connect(options as net.NetConnectOpts)
  const { onConnect, onSecureConnect } = options
  if (typeof onConnect === 'function') client.once('connect', () => onConnect.call(client, client))
  if (typeof onSecureConnect === 'function' && client instanceof tls.TLSSocket) client.once('secureConnect', () => onSecureConnect.call(client, client))
  context.client = client
}
createClient.options = { id: 'cio/createClient', after: ['cio/secure', 'cio/ensure-certs', 'cio/move-aliases'] }
createClient.checkOptions = checkConnectHooks

export default createClient
