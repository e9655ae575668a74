/**
 * Puts the agent listeners into a cio instance's chains, after framing and
 * RPC, unless they are there already (a cio shared by several agents or
 * servers, or one the user prepared). The orderer refuses an id twice in a
 * chain, so each is added once per instance.
 */
import type { Cio } from '../core/types.js'
import { listenerId } from '../chain/order.js'
import { agentClient } from '../../listeners/agent-client.js'
import { agentServer } from '../../listeners/agent-server.js'
import { rpc, rpcListeners } from '../../listeners/rpc.js'

function idsOf(array: ReadonlyArray<{ options?: { id?: string }; name: string }>): Set<string | undefined> {
  return new Set(array.map((fn) => listenerId(fn)))
}

/** `cio/frame`, `cio/rpc` and `cio/agent-server` in the server-client chain. */
export function ensureServerListeners(cio: Cio): void {
  const ids = idsOf(cio.getServerClientChain().array)
  if (!ids.has('cio/rpc')) cio.onServerClient(ids.has('cio/frame') ? rpc : rpcListeners)
  if (!ids.has('cio/agent-server')) cio.onServerClient(agentServer)
}

/** `cio/frame`, `cio/rpc` and `cio/agent-client` in the client chain. */
export function ensureClientListeners(cio: Cio): void {
  const ids = idsOf(cio.getClientChain().array)
  if (!ids.has('cio/rpc')) cio.onClient(ids.has('cio/frame') ? rpc : rpcListeners)
  if (!ids.has('cio/agent-client')) cio.onClient(agentClient)
}
