/**
 * The core's types: the cio instance, the contexts its three chains run
 * with, and what a listener may declare about the options it reads.
 */
import type { Server, Socket } from 'node:net'
import type { Chain } from '../chain/chain.js'
import type { Listener } from '../chain/types.js'
import type { CioOptions } from './options.js'
import type { CioServer } from './server-events.js'

/**
 * What every chain run's context carries. Every option can also be read
 * from the context itself (`this.rejectUnauthorized`, an addon's
 * `this.transform`), as cio 0.5 listeners do: the options object is the
 * context's prototype, so the context's type includes `CioOptions` (options
 * of other listeners are typed by augmenting `CioOptions`). The context's
 * own fields below shadow options of the same name.
 */
export interface BaseContext extends CioOptions {
  /** The cio instance running the chain. */
  cio: Cio
  /** The merged options (module defaults beneath the call's own). */
  options: CioOptions
  /**
   * The object that asked cio for this server or client, given as the
   * second argument of `cio.server()` / `cio.client()` (a server's connections
   * see the server's). A layer built on cio (the agents are one) finds its
   * own state here; cio never reads it.
   */
  owner?: object
}

/** Context of the server chain, run by `cio.server()`. `cio/createServer` sets `server`. */
export interface ServerContext extends BaseContext {
  server?: Server
  /** Set by `cio/secure`: true when the server uses TLS. */
  secure?: boolean
  /** cio 0.5's name for `secure`. */
  isSecure?: boolean
}

/** Context of the client chain, run by `cio.client()`. `cio/createClient` sets `client`. */
export interface ClientContext extends BaseContext {
  client?: Socket
  /** Set by `cio/secure`: true when the client uses TLS. */
  secure?: boolean
  /** cio 0.5's name for `secure`. */
  isSecure?: boolean
}

/** Context of the server-client chain, run once for each accepted connection. */
export interface ServerClientContext extends BaseContext {
  /** The server that accepted the connection. */
  server: Server
  /** The accepted socket (a TLSSocket when the server uses TLS). */
  serverClient: Socket
  /** True when the server uses TLS. */
  secure: boolean
  /** cio 0.5's name for `secure`. */
  isSecure: boolean
}

/** Context seen by a listener that may be added to the client chain and the server-client chain alike. */
export interface SocketContext extends BaseContext {
  client?: Socket
  serverClient?: Socket
  server?: Server
  secure?: boolean
  isSecure?: boolean
}

/** The socket a client or server-client chain run is about. */
export function socketOf(context: SocketContext): Socket | undefined {
  return context.serverClient ?? context.client
}

/**
 * A listener that reads cio options may check them up front: `cio.server()`
 * calls `checkOptions` of the listeners in the server and server-client
 * chains, `cio.client()` of those in the client chain, before anything is
 * made. A bad option then throws there, once, instead of failing every
 * connection the server later accepts.
 */
export interface OptionsChecker {
  /** Throws a CioError (`INVALID_OPTION`) naming the option it refuses. */
  checkOptions?: (options: Readonly<CioOptions>) => void
}

/**
 * What `onClient`/`onServer`/`onServerClient` accept: listeners, module
 * names (loaded with `require`), or arrays of them. The chain engine's own
 * `ListenerInput` takes functions only.
 */
export type ListenerSource<C extends object> = Listener<C> | string | ReadonlyArray<ListenerSource<C>>

/** No options beyond `CioOptions`: the default of the option type arguments. */
export type NoExtraOptions = Record<never, never>

/** A cio instance: builds servers and clients and holds their listener chains. */
export interface Cio {
  /** The module options given to `buildCio()`, aliases moved and certificate files read. */
  readonly options: Readonly<CioOptions>
  /**
   * Runs the server chain and returns the server it made, not yet listening.
   * Options of listeners that `CioOptions` does not declare are named with
   * the type argument: `cio.server<{ transform: Fn }>({ transform })`.
   * `owner` becomes the chains' `context.owner`.
   */
  server<Extra extends object = NoExtraOptions>(options?: CioOptions & NoInfer<Extra>, owner?: object): CioServer
  /** Runs the client chain and returns the socket it opened, already connecting; `options` and `owner` as for `server()`. */
  client<Extra extends object = NoExtraOptions>(options?: CioOptions & NoInfer<Extra>, owner?: object): Socket
  /** Adds listeners to the client chain. */
  onClient(...listeners: ListenerSource<ClientContext>[]): this
  /** Adds listeners to the server chain. */
  onServer(...listeners: ListenerSource<ServerContext>[]): this
  /** Adds listeners to the server-client chain, run for every accepted connection. */
  onServerClient(...listeners: ListenerSource<ServerClientContext>[]): this
  getClientChain(): Chain<ClientContext>
  getServerChain(): Chain<ServerContext>
  getServerClientChain(): Chain<ServerClientContext>
}

