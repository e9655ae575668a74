/** Options that `AgentServer` and `Agent` share, with the same meaning on both sides. */
import type { Cio } from '../core/builder.js'
import type { AgentLogger } from './errors.js'

/** Default milliseconds to complete the handshake: 10 000. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000
/** Default heartbeat interval: 15 000 ms; a dead peer is noticed within two. */
export const DEFAULT_HEARTBEAT_INTERVAL = 15_000

/** What both ends of an agent connection accept. */
export interface AgentCommonOptions {
  /** Default timeout of the calls this side makes (`send`; `sendTo`/`sendAll`), in ms. @default 30000 */
  timeout?: number
  /** Milliseconds a connection has to complete the handshake. @default 10000 */
  handshakeTimeout?: number
  /** Heartbeat interval in ms; a dead peer is noticed within two. 0 turns it off. @default 15000 */
  heartbeatInterval?: number
  /** Receives diagnostics. @default none */
  logger?: AgentLogger
  /** Print diagnostics to stderr. @default false */
  debug?: boolean
  /** Build on this cio instance (to share chains with your own listeners). @default a new one */
  cio?: Cio
  /** Largest frame, in bytes. @default 8388608 */
  maxFrameBytes?: number
  /** Calls one connection may have waiting at once. @default 1024 */
  maxPendingCalls?: number
  /** Calls from the other side answered at once per connection; at the cap the connection stops being read. @default 1024 */
  maxIncomingCalls?: number
  /** Deepest nesting of arrays and objects accepted in a message. @default 256 */
  maxJsonDepth?: number
}
