/**
 * The agent protocol on top of cio RPC: the reserved action names, the
 * heartbeat frames, and the decoder of the server's last handshake answer.
 * The cryptography (nonces, proofs, channel binding) is in
 * `handshake.ts`; the README's Protocol section describes the exchange in full.
 *
 *   agent                                        server
 *     {"id":1,"action":"cio.hello","body":{"nonce":Na,"name"?}}     -->
 *                    <--  {"id":1,"result":{"nonce":Ns,"proof":Ps}}
 *     {"id":2,"action":"cio.prove","body":{"proof":Pa}}             -->
 *                    <--  {"id":2,"result":{"name":"A7","firstTime":true}}
 *
 * Heartbeat, either way, once the handshake is done:
 *     {"id":9007199254740991,"action":"cio.ping"}  -->  <-- {"id":9007199254740991}
 *
 * Drain notice, server to agent, when the server drains (not answered):
 *                    <--  {"id":9007199254740991,"action":"cio.drain"}
 */
import { CioError, codes } from '../errors.js'
import { encodeFrame } from '../frame/encoder.js'
import { isSafeName } from './names.js'
import { answerRequest, refuseRequest, sendAnswer } from '../rpc/dispatch.js'
import type { RpcRequest } from '../rpc/protocol.js'
import type { RpcPeerApi } from '../rpc/types.js'
import { quote } from '../rpc/validate.js'

/** Actions starting with this belong to cio: hooks cannot use them, and catch-alls never see them. */
export const RESERVED_PREFIX = 'cio.'

/** The reserved actions. */
export const agentActions = {
  /** Agent → server: the agent's nonce and, when it has one, its name. */
  HELLO: 'cio.hello',
  /** Agent → server: the agent's proof; answered with its name. */
  PROVE: 'cio.prove',
  /** Either way, after the handshake: a sign of life, answered at once. */
  PING: 'cio.ping',
  /**
   * Server → agent: the server is draining; send nothing new here, let the
   * calls in flight finish, and reconnect once this connection closes.
   * Sent with the heartbeat id and not answered.
   */
  DRAIN: 'cio.drain',
} as const

/**
 * The id heartbeat pings use: the largest the protocol allows. A peer
 * numbers its own calls from 1 and would need 2^53 calls to reach it, so a
 * pong can never be taken for the answer to a real call; an unmatched
 * answer is dropped by the RPC layer, which is all a pong needs.
 */
export const HEARTBEAT_ID = Number.MAX_SAFE_INTEGER

/** The ping, encoded once and written to every connection as it is. */
export const PING_FRAME: Buffer = encodeFrame({ id: HEARTBEAT_ID, action: agentActions.PING })

/** The answer to a ping with the heartbeat id, encoded once. */
export const PONG_FRAME: Buffer = encodeFrame({ id: HEARTBEAT_ID })

/** The drain notice, encoded once. */
export const DRAIN_FRAME: Buffer = encodeFrame({ id: HEARTBEAT_ID, action: agentActions.DRAIN })

/** True for an action in cio's reserved space. */
export function isReservedAction(action: string): boolean {
  return action.startsWith(RESERVED_PREFIX)
}

/**
 * True for a name an agent may go by: a safe name (letters, digits, `.`,
 * `_`, `-`, up to 128) that is not also a property of every object
 * (`__proto__`, `constructor`...), so that code keying plain objects by
 * agent name cannot be turned against itself.
 */
export function isAgentName(name: unknown): name is string {
  return isSafeName(name) && !(name in Object.prototype)
}

/** The server's last handshake answer: the agent's name and whether it is new. */
export interface Welcome {
  name: string
  firstTime: boolean
}

/** Decodes the answer to `cio.prove`; throws `INVALID_MESSAGE` unless it is `{ name, firstTime }` with a valid name. */
export function parseWelcome(value: unknown): Welcome {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, 'name') && Object.hasOwn(value, 'firstTime')) {
    const { name, firstTime } = value as { name: unknown; firstTime: unknown }
    if (isAgentName(name) && typeof firstTime === 'boolean') return { name, firstTime }
  }
  throw new CioError(codes.INVALID_MESSAGE, 'Invalid handshake welcome: it must be { name, firstTime } with a valid agent name.', { details: { kind: 'welcome' } })
}

/**
 * Answers a reserved action on an admitted connection, the same way on
 * both sides: a ping at once (a heartbeat ping with the pre-encoded pong),
 * any other `cio.` action with `UNKNOWN_ACTION`.
 */
export function answerReservedAction(peer: RpcPeerApi, request: RpcRequest): void {
  // A notice is not answered: its heartbeat id waits for nothing.
  if (request.id === HEARTBEAT_ID && request.action !== agentActions.PING) return
  if (request.action !== agentActions.PING) refuseRequest(peer, request.id, codes.UNKNOWN_ACTION, `no handler for the reserved action ${quote(request.action)}`)
  else if (request.id === HEARTBEAT_ID) sendAnswer(peer.framed, PONG_FRAME)
  else answerRequest(peer, request.id)
}
