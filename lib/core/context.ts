import type { Server, Socket } from 'node:net'
import type { CioOptions } from './options.js'
import type { ServerClientContext } from './types.js'

/**
 * Makes a chain context whose prototype is the options object, so that a
 * listener reads an option as `this.transform` as well as
 * `this.options.transform`: cio 0.5 listeners and addons read their options
 * from the context itself. The context's own fields (`cio`, `options`,
 * `server`...) shadow any option of the same name, and writing to the
 * context never changes the options. Listeners that change `options` in
 * place (cio/move-aliases, cio/ensure-certs) are seen through the context
 * too, since the prototype is that same object.
 */
export function contextOf<C extends { options: CioOptions }>(fields: C): C {
  return Object.assign(Object.create(fields.options) as C, fields)
}

/**
 * `contextOf` for the server-client chain, whose context is made for every
 * accepted connection: the fields are assigned one by one, which costs
 * about what an object literal does, where `Object.assign` from a literal
 * cost several times more (a micro-measurement on a shared machine, noisy).
 */
export function serverClientContextOf(server: Server, socket: Socket, shared: Pick<ServerClientContext, 'cio' | 'options' | 'owner' | 'secure'>): ServerClientContext {
  const context = Object.create(shared.options) as ServerClientContext
  context.cio = shared.cio
  context.options = shared.options
  context.owner = shared.owner
  context.server = server
  context.serverClient = socket
  context.secure = shared.secure
  context.isSecure = shared.secure
  return context
}
