/**
 * `cio/agent-server`: the chain member of the agent handshake's server side. The
 * protocol itself lives in `lib/agent/server/handshake.ts`; this file only
 * places it in the chain, after `cio/rpc`.
 */
import type { Listener } from '../lib/chain/types.js'
import type { ServerClientContext } from '../lib/core/types.js'
import { startServerHandshake } from '../lib/agent/server/handshake.js'

export const agentServer: Listener<ServerClientContext> = function agentServer(_control, context) {
  startServerHandshake(context)
}
agentServer.options = { id: 'cio/agent-server', after: ['cio/rpc'] }

export default agentServer
