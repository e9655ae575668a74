import type { PeerCertificate, Server as TLSServer, TLSSocket } from 'node:tls'
import type { Server, Socket } from 'node:net'

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

/**
 * Options accepted by `buildCio()`, `cio.server()` and `cio.client()`.
 * Module options given to `buildCio()` are defaults beneath every call's own
 * options. Everything not listed here is passed to Node's `net`/`tls`
 * functions as-is, so any of their options may be used too. A key,
 * certificate or PKCS#12 bundle selects TLS.
 */
export interface CioOptions extends CertOptions {
  /** Port to connect to (client) or to listen on when you call `listen()` yourself. */
  port?: number
  /** Host to connect to (client). @default 'localhost' (Node's default) */
  host?: string

  /** Force TLS on (`true`) or off (`false`); unset, cio decides from the other options. */
  secure?: boolean
  /** Verify the peer's certificate against `ca`; `true` selects TLS. @default Node's default (true for clients) */
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
  relisten?: (server: import('node:net').Server, error: NodeJS.ErrnoException, attempt: number) => void

  /**
   * Server: allow-list for client certificates. Receives the certificate's
   * common name and the whole certificate (subject alternative names are on
   * `peerCertificate.subjectaltname`). Return false to reject the client.
   */
  isClientAllowed?: (name: string | undefined, peerCertificate: PeerCertificate | undefined) => boolean
  /** Server: handles a rejected client; without it cio closes the socket and emits `clientRejected`. */
  rejectClient?: (socket: Socket, name: string | undefined, peerCertificate: PeerCertificate | undefined) => void

  /** Any other option is passed to Node's net/tls functions or read by added listeners. */
  [option: string]: unknown
}
