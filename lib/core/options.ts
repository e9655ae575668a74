/**
 * Every option cio reads, typed once: `CioOptions` is composed from the
 * option interfaces of the listeners that read them (core, relisten,
 * allow-list, framing, RPC) and the Node `net`/`tls` options cio passes
 * through. A misspelt option is a type error. Listeners of other packages
 * declare theirs by augmenting `CioOptions` (`declare module 'cio'`), or
 * callers name them with the type argument of `cio.server<Extra>()`.
 */
import type { Server, ServerOpts, Socket, TcpSocketConnectOpts } from 'node:net'
import type { ConnectionOptions, PeerCertificate, Server as TLSServer, TLSSocket, TlsOptions } from 'node:tls'
import type { FramedSocketOptions } from '../frame/framed-socket.js'
import type { RpcPeerOptions } from '../rpc/options.js'

/**
 * A certificate or key as a user may give it: a file path, a PEM string
 * (recognised by its `-----BEGIN` header), a Buffer, or an array of these.
 */
export type CertSource = string | Buffer | ReadonlyArray<string | Buffer>

/** What a certificate option holds once cio has read it. */
export type CertValue = Buffer | Buffer[]

/**
 * The certificate options, each a path, PEM text or Buffer (or an array),
 * with their aliases. Shared by cio, `AgentServer` and `Agent`.
 */
export interface CertOptions {
  /** Private key (alias `private`): a server's, or a client's for servers that ask for a certificate. */
  key?: CertSource
  /** Certificate chain (alias `public`). */
  cert?: CertSource
  /** Trusted certificate authorities (alias `root`): a client verifies its server with them, a server its clients. */
  ca?: CertSource
  /** PKCS#12 bundle instead of `key` and `cert`. */
  pfx?: CertSource
  /** Alias of `key`. */
  private?: CertSource
  /** Alias of `cert`. */
  public?: CertSource
  /** Alias of `ca`. */
  root?: CertSource
}

/** Options of the core listeners that make sockets (`cio/secure`, `cio/createServer`, `cio/createClient`). */
export interface SocketOptions {
  /** Port to connect to (client) or to listen on when you call `listen()` yourself. */
  port?: number
  /** Host to connect to (client). @default 'localhost' (Node's default) */
  host?: string

  /** Force TLS on (`true`) or off (`false`); unset, cio decides from the other options. */
  secure?: boolean
  /** Verify the peer's certificate against `ca`; `true` selects TLS. @default true (Node's default, clients and servers asking for certificates) */
  rejectUnauthorized?: boolean
  /** Server: ask clients for a certificate; `true` selects TLS. @default false */
  requestCert?: boolean
  /** Client: name expected in the server certificate (SNI). @default host */
  servername?: string

  /**
   * Client: called once the socket connects (the TCP `connect` event, also
   * with TLS), `this` = the socket. Server: called for every accepted
   * socket (`connection`), `this` = the server.
   */
  onConnect?: (this: Socket | Server, socket: Socket) => void
  /**
   * Client: called once the TLS handshake completes (`secureConnect`).
   * Server: called for every socket that completed it (`secureConnection`).
   */
  onSecureConnect?: (this: TLSSocket | TLSServer, socket: TLSSocket) => void
}

/** Options of `cio/relistener`: retrying `listen()` on EADDRINUSE. */
export interface RelistenOptions {
  /** Server: turn off retrying `listen()` on EADDRINUSE. @default false */
  noRelisten?: boolean
  /** Server: milliseconds to wait before each listen retry. @default 3000 */
  retryDelay?: number
  /** Server: listen retries before giving up with `RELISTEN_FAILED`. @default 3 */
  maxRetries?: number
  /**
   * Server: replaces the built-in retry action. Called after the `relisten`
   * event, with the server, the error and the attempt number (1-based).
   */
  relisten?: (server: Server, error: NodeJS.ErrnoException, attempt: number) => void
}

/** Options of `cio/authenticate-client`: the client-certificate allow-list. */
export interface AllowListOptions {
  /**
   * Server: allow-list for client certificates. Receives the certificate's
   * common name and the whole certificate (subject alternative names are on
   * `peerCertificate.subjectaltname`). Return false to reject the client.
   */
  isClientAllowed?: (name: string | undefined, peerCertificate: PeerCertificate | undefined) => boolean
  /** Server: handles a rejected client; without it cio closes the socket and emits `clientRejected`. */
  rejectClient?: (socket: Socket, name: string | undefined, peerCertificate: PeerCertificate | undefined) => void
}

/** The names cio gives a meaning of its own (certificate options read from files, for one). */
type CioOptionName = keyof SocketOptions | keyof CertOptions | keyof RelistenOptions | keyof AllowListOptions | keyof FramedSocketOptions | keyof RpcPeerOptions

/** Node's `net` and `tls` options for servers and clients, which cio passes through unchanged. */
export type NodeSocketOptions = Omit<ServerOpts & TcpSocketConnectOpts & TlsOptions & ConnectionOptions, CioOptionName>

/**
 * Options accepted by `buildCio()`, `cio.server()` and `cio.client()`.
 * Module options given to `buildCio()` are defaults beneath every call's own
 * options. Node's `net`/`tls` options are passed through as they are. A
 * key, certificate or PKCS#12 bundle selects TLS.
 */
export interface CioOptions extends SocketOptions, CertOptions, RelistenOptions, AllowListOptions, FramedSocketOptions, RpcPeerOptions, NodeSocketOptions {}
