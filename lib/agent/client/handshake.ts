/**
 * `cio/agent-client`: the agent side of the handshake, on every connection
 * an `Agent` opens (other clients of the same cio instance are left alone).
 * It runs after `cio/rpc`:
 *
 *   1. sends `cio.hello` with a fresh nonce (and the agent's name, if any);
 *   2. checks the server's proof: a server that cannot prove the secret is
 *      refused (`WRONG_SECRET`) before the agent proves anything;
 *   3. sends `cio.prove` with the agent's proof and receives its name.
 *
 * Until the server has proved the secret, a request from it gets
 * `NOT_AUTHORIZED` and the connection is ended. Afterwards `cio.ping` is
 * answered at once, other `cio.` actions get `UNKNOWN_ACTION`, and the rest
 * goes to the agent's hooks. The whole handshake, TCP and TLS connection
 * included, must finish within `handshakeTimeout`.
 */
import type { Socket } from 'node:net'
import type { ClientContext } from '../../core/types.js'
import { CioError, codes } from '../../errors.js'
import { channelBinding, clientProof, createNonce, encodeHello, encodeResponse, parseChallenge, serverProof, verifyProof } from '../handshake.js'
import { agentActions, answerReservedAction, parseWelcome, RESERVED_PREFIX } from '../protocol.js'
import { quote } from '../../rpc/validate.js'
import { resetBeat } from '../heartbeat.js'
import { AgentClientOwner, ClientConnection, clientConnectionOf, setClientConnection } from './connection.js'
import { HANDLED, refuseRequest } from '../../rpc/dispatch.js'
import { peerOf, type RpcInterceptor, type RpcPeer } from '../../rpc/peer.js'
import type { RpcRequest } from '../../rpc/protocol.js'

async function runHandshake(connection: ClientConnection): Promise<void> {
  const { owner, peer } = connection
  const options = { timeout: owner.handshakeTimeout }
  try {
    const nonce = createNonce()
    const name = owner.claimedName
    const challenge = parseChallenge(await peer.call(agentActions.HELLO, encodeHello(name === undefined ? { nonce } : { nonce, name }), options))
    const binding = channelBinding(connection.socket)
    if (!verifyProof(serverProof(owner.secret, nonce, challenge.nonce, binding), challenge.proof)) {
      throw new CioError(codes.WRONG_SECRET, 'The server could not prove it knows the secret: it is another server, or its secret differs from the agent\'s.', {
        details: { side: 'server' },
      })
    }
    connection.trusted = true
    const welcome = parseWelcome(await peer.call(agentActions.PROVE, encodeResponse({ proof: clientProof(owner.secret, nonce, challenge.nonce, binding) }), options))
    clearTimeout(connection.timer)
    connection.timer = undefined
    connection.ready = true
    resetBeat(connection)
    owner.ready(connection, welcome)
  } catch (error) {
    clearTimeout(connection.timer)
    connection.timer = undefined
    connection.socket.destroy()
    owner.failed(connection, error)
  }
}

/** Requests on an agent connection (see the module comment). */
function interceptClientRequest(peer: RpcPeer, request: RpcRequest): typeof HANDLED | undefined {
  const connection = clientConnectionOf(peer.socket)
  if (connection === undefined) return undefined
  const action = request.action
  if (!connection.trusted) {
    refuseRequest(peer, request.id, codes.NOT_AUTHORIZED, `${quote(action)} was sent before the server proved the secret.`, true)
    return HANDLED
  }
  if (!action.startsWith(RESERVED_PREFIX)) return undefined
  if (action === agentActions.DRAIN && connection.ready) connection.owner.draining(connection)
  else answerReservedAction(peer, request)
  return HANDLED
}

function onHandshakeTimeout(connection: ClientConnection): void {
  connection.timer = undefined
  connection.socket.destroy(new CioError(codes.HANDSHAKE_TIMEOUT, `No connection and handshake with the server within ${connection.owner.handshakeTimeout} ms.`, {
    details: { handshakeTimeout: connection.owner.handshakeTimeout },
  }))
}

function clientOnConnect(this: Socket): void {
  const connection = clientConnectionOf(this)
  if (connection === undefined || connection.peer.closed) return
  connection.connected = true
  connection.owner.connected(connection)
}

/** The connection closed; runs after the RPC layer failed the pending calls. */
function clientClosed(peer: RpcPeer, error: Error | undefined): void {
  const connection = clientConnectionOf(peer.socket)
  if (connection === undefined) return
  clearTimeout(connection.timer)
  connection.timer = undefined
  connection.owner.closed(connection, error)
}

const clientInterceptor: RpcInterceptor = { request: interceptClientRequest, closed: clientClosed }

/**
 * Starts the client side of the handshake on a connection. The chain member
 * `cio/agent-client` (listeners/agent-client.ts) calls it; needs `cio/rpc` before it.
 */
export function startClientHandshake(context: ClientContext): void {
  const owner = context.owner
  const socket = context.client
  if (!(owner instanceof AgentClientOwner) || socket === undefined) return
  const peer = peerOf(socket)
  if (peer === undefined) throw new CioError(codes.INTERNAL_ERROR, 'cio/agent-client needs cio/rpc to run before it (was it disabled or removed?).')
  const connection = new ClientConnection(owner, peer)
  setClientConnection(socket, connection)
  peer.interceptor = clientInterceptor
  peer.answerWith(owner.hooks)
  socket.once(context.secure === true ? 'secureConnect' : 'connect', clientOnConnect)
  connection.timer = setTimeout(onHandshakeTimeout, owner.handshakeTimeout, connection)
  owner.opened(connection)
  void runHandshake(connection)
}
