import type { Server, Socket } from 'node:net'
import type { Cio } from './builder.js'
import type { CioOptions } from './options.js'

/**
 * What every chain run's context carries. Every option can also be read
 * from the context itself (`context.transform`, `this.eventor`), as cio 0.5
 * listeners do: the options object is the context's prototype.
 */
export interface BaseContext {
  /** The cio instance running the chain. */
  cio: Cio
  /** The merged options (module defaults beneath the call's own). */
  options: CioOptions
  /** Any option, read through the context; and whatever listeners put on it. */
  [option: string]: unknown
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
