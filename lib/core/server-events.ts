import type { Server, Socket } from 'node:net'
import type { PeerCertificate } from 'node:tls'
import type { CioError } from '../errors.js'
import type { RpcPeer } from '../rpc/peer.js'

/** Events a cio server emits beyond Node's own. */
export interface CioServerEvents {
  /** Before each listen retry on EADDRINUSE (`cio/relistener`). */
  relisten: [attempt: number, error: NodeJS.ErrnoException]
  /** A client failed the allow-list and was closed (`cio/authenticate-client`). */
  clientRejected: [name: string | undefined, peerCertificate: PeerCertificate | undefined]
  /** A server client's socket error, or its chain run failing; the socket is closed. */
  serverClientError: [error: Error, socket: Socket]
  /** A server client broke the framing or RPC protocol and was closed (`cio/frame`). */
  protocolError: [error: CioError, socket: Socket]
  /** A server client's RPC peer is ready (`cio/rpc`): add handlers or call the client. */
  peer: [peer: RpcPeer, socket: Socket]
}

type CioEventName = keyof CioServerEvents

/**
 * A `net.Server` or `tls.Server` made by cio, with its extra events typed.
 * `tls.Server` is a `net.Server`, so this type covers both; narrow with
 * `instanceof tls.Server` when TLS-only methods are needed.
 */
export interface CioServer extends Server {
  on<E extends CioEventName>(event: E, listener: (...args: CioServerEvents[E]) => void): this
  on(event: string | symbol, listener: (...args: never[]) => void): this
  once<E extends CioEventName>(event: E, listener: (...args: CioServerEvents[E]) => void): this
  once(event: string | symbol, listener: (...args: never[]) => void): this
  off<E extends CioEventName>(event: E, listener: (...args: CioServerEvents[E]) => void): this
  off(event: string | symbol, listener: (...args: never[]) => void): this
}
