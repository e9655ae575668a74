import type { Socket } from 'node:net'
import { readCertOptions } from '../tls/cert-values.js'
import { Chain } from '../chain/chain.js'
import type { Listener } from '../chain/types.js'
import { ChainError } from '../chain/chain-error.js'
import type { Cio, ClientContext, ListenerSource, NoExtraOptions, OptionsChecker, ServerClientContext, ServerContext } from './types.js'
import { CioError, codes } from '../errors.js'
import { loadListenerModule } from './load-listener.js'
import { contextOf } from './context.js'
import { mergeOptions, moveCertAliases } from './aliases.js'
import type { CioOptions } from './options.js'
import { orderListeners } from '../chain/order-listeners.js'
import type { CioServer } from './server-events.js'
import { clientListeners, serverClientListeners, serverListeners } from './core-listeners.js'

/** Calls `checkOptions` of each listener of `chain` that is not disabled. */
function checkListenerOptions<C extends object>(chain: Chain<C>, options: Readonly<CioOptions>): void {
  for (const listener of chain.array) {
    const check = (listener as OptionsChecker).checkOptions
    if (typeof check === 'function' && !chain.isDisabled(listener)) check(options)
  }
}

function plainOptions(value: unknown, where: string): CioOptions {
  if (value === undefined) return {}
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CioError(codes.INVALID_ARGUMENT, `${where} takes an options object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}.`, { details: { argument: where } })
  }
  return value as CioOptions
}

/** Flattens listener inputs, loading module names, and names the exact bad argument when one is wrong. */
function collectListeners<C extends object>(method: string, inputs: readonly unknown[]): Listener<C>[] {
  const found: Listener<C>[] = []
  const visit = (value: unknown, where: string): void => {
    if (typeof value === 'function') {
      found.push(value as Listener<C>)
    } else if (typeof value === 'string') {
      const loaded = loadListenerModule(value)
      if (typeof loaded !== 'function' && !Array.isArray(loaded)) {
        throw new CioError(codes.MODULE_LOAD, `${where}: the module "${value}" exports ${typeof loaded}, not a listener function or an array of them.`, { details: { method, module: value } })
      }
      visit(loaded, `${where} (module "${value}")`)
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => visit(item, `${where}[${index}]`))
    } else {
      throw new CioError(codes.INVALID_ARGUMENT, `${where} is ${value === null ? 'null' : typeof value}; expected a listener function, a module name or an array of them.`, { details: { method } })
    }
  }
  if (inputs.length === 0) throw new CioError(codes.INVALID_ARGUMENT, `${method}() needs at least one listener.`, { details: { method } })
  inputs.forEach((input, index) => visit(input, `${method}() argument ${index + 1}`))
  return found
}

class CioInstance implements Cio {
  readonly options: Readonly<CioOptions>
  #clientChain: Chain<ClientContext> | undefined
  #serverChain: Chain<ServerContext> | undefined
  #serverClientChain: Chain<ServerClientContext> | undefined

  constructor(options: CioOptions) {
    this.options = Object.freeze(options)
  }

  server(options?: CioOptions, owner?: object): CioServer {
    const context = contextOf<ServerContext>({ cio: this, options: mergeOptions(this.options, plainOptions(options, 'server()')), owner })
    checkListenerOptions(this.getServerChain(), context.options)
    checkListenerOptions(this.getServerClientChain(), context.options)
    const result = this.getServerChain().run({ context })
    if (result.failed !== undefined || !result.result) throw new ChainError('server', result)
    if (context.server === undefined) throw new ChainError('server', { ...result, result: false, reason: 'no listener made a server (is cio/createServer disabled?)' })
    return context.server as CioServer
  }

  client(options?: CioOptions, owner?: object): Socket {
    const context = contextOf<ClientContext>({ cio: this, options: mergeOptions(this.options, plainOptions(options, 'client()')), owner })
    checkListenerOptions(this.getClientChain(), context.options)
    const result = this.getClientChain().run({ context })
    if (result.failed !== undefined || !result.result) {
      context.client?.destroy()
      throw new ChainError('client', result)
    }
    if (context.client === undefined) throw new ChainError('client', { ...result, result: false, reason: 'no listener made a client socket (is cio/createClient disabled?)' })
    return context.client
  }

  onClient(...listeners: ListenerSource<ClientContext>[]): this {
    this.getClientChain().add(collectListeners<ClientContext>('onClient', listeners))
    return this
  }

  onServer(...listeners: ListenerSource<ServerContext>[]): this {
    this.getServerChain().add(collectListeners<ServerContext>('onServer', listeners))
    return this
  }

  onServerClient(...listeners: ListenerSource<ServerClientContext>[]): this {
    this.getServerClientChain().add(collectListeners<ServerClientContext>('onServerClient', listeners))
    return this
  }

  getClientChain(): Chain<ClientContext> {
    return (this.#clientChain ??= new Chain<ClientContext>({ array: clientListeners(), order: orderListeners }))
  }

  getServerChain(): Chain<ServerContext> {
    return (this.#serverChain ??= new Chain<ServerContext>({ array: serverListeners(), order: orderListeners }))
  }

  getServerClientChain(): Chain<ServerClientContext> {
    return (this.#serverClientChain ??= new Chain<ServerClientContext>({ array: serverClientListeners(), order: orderListeners }))
  }
}

/**
 * Makes a cio instance. `moduleOptions` are defaults beneath every
 * `server()`/`client()` call's options; certificate paths among them are
 * read now, so a wrong path fails here with `CERT_READ` rather than at the
 * first connection.
 */
export function buildCio<Extra extends object = NoExtraOptions>(moduleOptions?: CioOptions & NoInfer<Extra>): Cio {
  const options = readCertOptions(moveCertAliases({ ...plainOptions(moduleOptions, 'buildCio()') }))
  return new CioInstance(options)
}

export default buildCio
