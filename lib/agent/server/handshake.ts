/**
 * `cio/agent-server`: the server side of the agent handshake, on every
 * connection of a server made by `AgentServer` (other servers of the same
 * cio instance are left alone). It runs after `cio/rpc` and puts an
 * interceptor in front of the connection's handlers:
 *
 *   - `cio.hello` and `cio.prove` are answered here, in that order only;
 *   - until the handshake is done any other request gets `NOT_AUTHORIZED`
 *     and the connection is ended after that answer;
 *   - a handshake not done within `handshakeTimeout` of the accept destroys
 *     the socket (`HANDSHAKE_TIMEOUT`, see `admission.ts`), and until then
 *     frames are capped at `maxHandshakeFrameBytes`;
 *   - afterwards `cio.ping` is answered at once, other `cio.` actions get
 *     `UNKNOWN_ACTION`, and the rest goes to the hooks.
 *
 * Every handler here is a module-level function that finds its state from
 * the socket: nothing is allocated per connection but the state object.
 */
import type { ServerClientContext } from '../../core/types.js'
import { CioError, codes, describeError, type CioErrorCode } from '../../errors.js'
import { channelBinding, clientProof, createNonce, encodeChallenge, parseHello, parseResponse, serverProof, verifyProof } from '../handshake.js'
import { agentActions, answerReservedAction, isAgentName, RESERVED_PREFIX, type Welcome } from '../protocol.js'
import { quote } from '../../rpc/validate.js'
import { resetBeat } from '../heartbeat.js'
import { AgentServerOwner, Phase, ServerConnection, serverConnectionOf, setServerConnection, type AgentRecord } from './connection.js'
import { answerRequest, HANDLED, refuseRequest } from '../../rpc/dispatch.js'
import { admitSocket, serveSocket } from './admission.js'
import { peerOf, type RpcInterceptor, type RpcPeer } from '../../rpc/peer.js'
import type { RpcRequest } from '../../rpc/protocol.js'
import { admittedChannel, refusedChannel, type HandshakeMessage } from '../../core/diagnostics.js'

/** Refuses a request and ends the connection; the owner hears of it when `report` is set. */
function turnAway(connection: ServerConnection, id: number, code: CioErrorCode, message: string, report = false, details?: Record<string, unknown>): void {
  // Requests already on their way (a correct proof behind a bad one, say) must not get it in after all.
  connection.phase = Phase.REFUSED
  refuseRequest(connection.peer, id, code, message, true)
  if (refusedChannel.hasSubscribers) {
    const socket = connection.socket
    refusedChannel.publish({ socket, remoteAddress: socket.remoteAddress, agent: connection.handshake?.claimed, code } satisfies HandshakeMessage)
  }
  connection.owner.log?.(`turned a connection away with ${code}: ${message}`, { remoteAddress: connection.socket.remoteAddress })
  if (report) connection.owner.refused(connection, new CioError(code, message, { details: { ...details, remoteAddress: connection.socket.remoteAddress, name: connection.handshake?.claimed } }))
}

/** `cio.hello`: keeps the agent's nonce, answers with the server's nonce and proof. */
function onHello(connection: ServerConnection, request: RpcRequest): void {
  const handshake = connection.handshake
  if (connection.phase !== Phase.NEW || handshake === undefined) return turnAway(connection, request.id, codes.NOT_AUTHORIZED, 'cio.hello may be sent once, first.')
  let hello
  try {
    hello = parseHello(request.body)
  } catch (error) {
    return turnAway(connection, request.id, codes.INVALID_MESSAGE, (error as Error).message)
  }
  if (hello.name !== undefined && !isAgentName(hello.name)) return turnAway(connection, request.id, codes.INVALID_MESSAGE, 'Invalid handshake hello: that name is reserved.')
  const serverNonce = createNonce()
  const binding = channelBinding(connection.socket)
  handshake.clientNonce = hello.nonce
  handshake.claimed = hello.name
  handshake.serverNonce = serverNonce
  handshake.binding = binding
  connection.phase = Phase.CHALLENGED
  answerRequest(connection.peer, request.id, encodeChallenge({ nonce: serverNonce, proof: serverProof(connection.owner.secret, hello.nonce, serverNonce, binding) }))
}

/** `cio.prove`: checks the agent's proof, then has the owner settle its name. */
function onProve(connection: ServerConnection, request: RpcRequest): void {
  const handshake = connection.handshake
  if (connection.phase !== Phase.CHALLENGED || handshake === undefined) return turnAway(connection, request.id, codes.NOT_AUTHORIZED, 'cio.prove must follow cio.hello, once.')
  let proof: Buffer
  try {
    proof = parseResponse(request.body).proof
  } catch (error) {
    return turnAway(connection, request.id, codes.INVALID_MESSAGE, (error as Error).message)
  }
  const expected = clientProof(connection.owner.secret, handshake.clientNonce as Buffer, handshake.serverNonce as Buffer, handshake.binding)
  handshake.clientNonce = handshake.serverNonce = handshake.binding = undefined
  if (!verifyProof(expected, proof)) return turnAway(connection, request.id, codes.WRONG_SECRET, 'The agent could not prove it knows the secret.', true)
  connection.phase = Phase.NAMING
  connection.owner.name(connection, handshake.claimed).then(
    (welcome) => onNamed(connection, request.id, welcome),
    (error: unknown) => onNameRefused(connection, request.id, error),
  )
}

function onNamed(connection: ServerConnection, id: number, welcome: Welcome): void {
  if (connection.phase !== Phase.NAMING) return
  // The welcome is written before the owner announces the agent, so that a
  // call made from an `agentConnected` listener follows it on the wire.
  answerRequest(connection.peer, id, welcome)
  admitSocket(connection.socket)
  connection.peer.framed.limitIncoming(connection.peer.framed.maxFrameBytes)
  connection.handshake = undefined
  connection.phase = Phase.READY
  resetBeat(connection)
  connection.owner.admitted(connection, welcome)
  if (admittedChannel.hasSubscribers) admittedChannel.publish({ socket: connection.socket, remoteAddress: connection.socket.remoteAddress, agent: welcome.name } satisfies HandshakeMessage)
}

function onNameRefused(connection: ServerConnection, id: number, error: unknown): void {
  if (connection.phase !== Phase.NAMING) return
  const known = error instanceof CioError
  turnAway(connection, id, known ? error.code : codes.INTERNAL_ERROR, known ? error.message : `The agent's name could not be settled: ${describeError(error)}`, true, known ? error.details : undefined)
}

/** Requests of every agent connection's peer (see the module comment). */
function interceptServerRequest(peer: RpcPeer, request: RpcRequest): AgentRecord | typeof HANDLED | undefined {
  const connection = serverConnectionOf(peer.socket)
  if (connection === undefined) return undefined
  if (connection.phase === Phase.REFUSED) return HANDLED
  const action = request.action
  if (!action.startsWith(RESERVED_PREFIX)) {
    // The hooks get the record as `call.caller`: no second lookup.
    if (connection.phase === Phase.READY) return connection.record
    turnAway(connection, request.id, codes.NOT_AUTHORIZED, `${quote(action)} was sent before the agent handshake completed.`)
  } else if (action === agentActions.HELLO) {
    onHello(connection, request)
  } else if (action === agentActions.PROVE) {
    onProve(connection, request)
  } else if (connection.phase !== Phase.READY) {
    turnAway(connection, request.id, codes.NOT_AUTHORIZED, `${quote(action)} was sent before the agent handshake completed.`)
  } else {
    answerReservedAction(peer, request)
  }
  return HANDLED
}

/** The connection closed; runs after the RPC layer failed the pending calls. */
function serverClosed(peer: RpcPeer, error: Error | undefined): void {
  const connection = serverConnectionOf(peer.socket)
  if (connection === undefined || connection.phase === Phase.CLOSED) return
  connection.handshake = undefined
  connection.phase = Phase.CLOSED
  connection.owner.closed(connection, error)
}

/** One object for every connection: no closure per connection. */
const serverInterceptor: RpcInterceptor = { request: interceptServerRequest, closed: serverClosed }

/**
 * Starts the server side of the handshake on a connection. The chain member
 * `cio/agent-server` (listeners/agent-server.ts) calls it; needs `cio/rpc` before it.
 */
export function startServerHandshake(context: ServerClientContext): void {
  const owner = context.owner
  if (!(owner instanceof AgentServerOwner)) return
  const socket = context.serverClient
  const peer = peerOf(socket)
  if (peer === undefined) throw new CioError(codes.INTERNAL_ERROR, 'cio/agent-server needs cio/rpc to run before it (was it disabled or removed?).')
  // No deadline means the socket is past it or was not accepted by the server's gate.
  if (owner.closing || peer.closed || !serveSocket(socket)) {
    socket.destroy()
    return
  }
  const connection = new ServerConnection(owner, peer)
  setServerConnection(socket, connection)
  peer.interceptor = serverInterceptor
  peer.answerWith(owner.hooks)
  peer.framed.limitIncoming(owner.maxHandshakeFrameBytes)
  owner.opened(connection)
}
