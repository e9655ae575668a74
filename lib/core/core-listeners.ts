import type { Listener } from '../chain/types.js'
import type { ClientContext, ServerClientContext, ServerContext } from './types.js'
import { authenticateClient } from '../../listeners/authenticate-client.js'
import { createClient } from '../../listeners/create-client.js'
import { createServer } from '../../listeners/create-server.js'
import { emitNewServerClient } from '../../listeners/emit-new-server-client.js'
import { ensureCerts } from '../../listeners/ensure-certs.js'
import { moveAliases } from '../../listeners/move-aliases.js'
import { relistener } from '../../listeners/relistener.js'
import { secure } from '../../listeners/secure.js'

/** The client chain's core listeners, in order. */
export function clientListeners(): Listener<ClientContext>[] {
  return [moveAliases, secure, ensureCerts, createClient]
}

/** The server chain's core listeners, in order. */
export function serverListeners(): Listener<ServerContext>[] {
  return [moveAliases, secure, ensureCerts, createServer, relistener, emitNewServerClient]
}

/** The server-client chain's core listeners, in order. */
export function serverClientListeners(): Listener<ServerClientContext>[] {
  return [authenticateClient]
}
