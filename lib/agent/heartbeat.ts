/**
 * Dead-peer detection. A connection whose peer vanished without a FIN or an
 * RST (a crashed host, a pulled cable, a NAT that forgot the flow) looks
 * open forever: writes succeed into the kernel buffer and nothing is read.
 * The heartbeat notices it without a timer per connection.
 *
 * Every interval, each connection is checked once:
 *   - if a ping went out at the last check and not one byte has been read
 *     since (`socket.bytesRead` did not move), the peer is dead: the socket
 *     is destroyed with `HEARTBEAT_TIMEOUT`, which fails its pending calls
 *     with `DISCONNECTED` at once;
 *   - otherwise a ping goes out and the byte count is noted.
 * Any byte counts as a sign of life, so a busy connection is never killed,
 * and a peer that stops at any moment is caught at the second check after
 * it stopped: within two intervals.
 *
 * A server sweeps all its agents with one timer; an agent has one
 * connection and so one timer. The ping is one frame encoded once.
 */
import { CioError, codes } from '../errors.js'
import { PING_FRAME } from './protocol.js'
import { PAUSE_BUSY } from '../frame/framed-socket.js'
import type { RpcPeer } from '../rpc/peer.js'

/** What the heartbeat keeps per connection: two fields, no timer, no closure. */
export interface Beating {
  readonly peer: RpcPeer
  /** `socket.bytesRead` at the last check. */
  beatBytes: number
  /** A ping went out at the last check. */
  beatPinged: boolean
  /** False while the connection is not to be checked (handshake not done). */
  readonly beating: boolean
}

/** Starts a connection's heartbeat from now: the next check pings it. */
export function resetBeat(entry: Beating): void {
  entry.beatBytes = entry.peer.socket.bytesRead
  entry.beatPinged = false
}

/**
 * Checks one connection (see the module comment). Returns false when the
 * peer was found dead and its socket destroyed.
 */
export function beat(entry: Beating, interval: number): boolean {
  const { framed } = entry.peer
  const socket = framed.socket
  const read = socket.bytesRead
  // Not reading because its calls are all being answered: busy, not dead,
  // but pinged all the same: a write is how a paused socket learns its
  // peer is gone.
  const busy = (framed.readingPaused & PAUSE_BUSY) !== 0
  if (entry.beatPinged && read === entry.beatBytes && !busy) {
    socket.destroy(new CioError(codes.HEARTBEAT_TIMEOUT, `The peer sent nothing, not even an answer to a ping, for ${interval} ms (heartbeat interval ${interval} ms): the connection is dead.`, {
      details: { heartbeatInterval: interval },
    }))
    return false
  }
  entry.beatBytes = read
  entry.beatPinged = true
  if (!framed.closed && socket.writable) framed.sendFrame(PING_FRAME)
  return true
}

/** Checks every beating connection of `connections`: the server's one timer calls this. */
export function sweep(connections: Map<string, Beating>, interval: number): void {
  for (const entry of connections.values()) if (entry.beating) beat(entry, interval)
}
