/**
 * `cio/agent-client`: the chain member of the agent handshake's client side. The
 * protocol itself lives in `lib/agent/client/handshake.ts`; this file only
 * places it in the chain, after `cio/rpc`.
 */
import type { Listener } from '../lib/chain/types.js'
import type { ClientContext } from '../lib/core/types.js'
import { startClientHandshake } from '../lib/agent/client/handshake.js'

export const agentClient: Listener<ClientContext> = function agentClient(_control, context) {
  startClientHandshake(context)
}
agentClient.options = { id: 'cio/agent-client', after: ['cio/rpc'] }

export default agentClient
