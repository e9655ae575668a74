import { TLSSocket, type PeerCertificate } from 'node:tls'
import type { Listener } from '../lib/chain/types.js'
import type { ServerClientContext } from '../lib/core/types.js'

/** The client's certificate, or undefined when it sent none (Node then returns an empty object). */
export function peerCertificateOf(socket: unknown): PeerCertificate | undefined {
  if (!(socket instanceof TLSSocket)) return undefined
  const certificate = socket.getPeerCertificate(true)
  return certificate !== null && Object.keys(certificate).length > 0 ? certificate : undefined
}

/** The common name of a certificate; when a subject repeats CN, the first one. */
export function commonNameOf(certificate: PeerCertificate | undefined): string | undefined {
  const cn: unknown = certificate?.subject?.CN
  if (Array.isArray(cn)) return typeof cn[0] === 'string' ? cn[0] : undefined
  return typeof cn === 'string' ? cn : undefined
}

/**
 * Client allow-list: asks `isClientAllowed(name, certificate)` and, on a false
 * answer, stops the chain so no later listener serves the client, then hands
 * the socket to `rejectClient` or closes it and emits `clientRejected`. Only
 * a certificate the server's CAs verified (`socket.authorized`) is asked
 * about: with `rejectUnauthorized: false` anyone can make a certificate
 * with any common name, so an unverified one is refused outright.
 */
export const authenticateClient: Listener<ServerClientContext> = function authenticateClient(control, context) {
  const { options, serverClient, server } = context
  const isClientAllowed = options.isClientAllowed
  if (typeof isClientAllowed !== 'function') return
  const certificate = peerCertificateOf(serverClient)
  const name = commonNameOf(certificate)
  const verified = serverClient instanceof TLSSocket && serverClient.authorized
  // Truthy allows: a handler that forgets to return rejects, the safe side.
  if (verified && isClientAllowed(name, certificate)) return
  control.stop('client rejected')
  if (typeof options.rejectClient === 'function') {
    options.rejectClient(serverClient, name, certificate)
    return
  }
  serverClient.destroy()
  server.emit('clientRejected', name, certificate)
}
authenticateClient.options = { id: 'cio/authenticate-client', before: ['*'] }

export default authenticateClient
