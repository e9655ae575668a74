import { parseArgs } from 'node:util'
import type { Output } from './output.js'
import { loadRedisEntry } from './redis.js'
import { UsageError } from './usage.js'

export const lsUsage = 'usage: cio ls --redis URL [--namespace NAME] [--json]'

export const lsHelp = `${lsUsage}

Lists the live nodes of a cluster of agent servers and the agents each one
holds, as Redis knows them (read only: it does not join the cluster).
  --redis URL        redis://host:port, rediss://..., or a unix socket path
  --namespace NAME   the cluster's namespace (default cio)
  --json             one JSON object per node and per agent`

/** `cio ls`: the cluster's nodes and agents. */
export async function lsCommand(argv: string[], out: Output): Promise<void> {
  let values
  try {
    ;({ values } = parseArgs({ args: argv, options: { redis: { type: 'string' }, namespace: { type: 'string' }, json: { type: 'boolean' } }, strict: true }))
  } catch (error) {
    throw new UsageError((error as Error).message, lsUsage)
  }
  if (values.redis === undefined) throw new UsageError('--redis URL is required', lsUsage)
  const { inspectCluster } = await loadRedisEntry()
  const { nodes, agents } = await inspectCluster({ redis: values.redis, ...(values.namespace === undefined ? {} : { namespace: values.namespace }) })
  for (const node of nodes) {
    const held = agents.filter((agent) => agent.node === node.id).map((agent) => agent.name)
    out.record({ type: 'node', ...node, agents: held.length }, `${node.id}  pid ${node.pid} on ${node.host}, up since ${new Date(node.started).toISOString()}, ${held.length} agents${held.length > 0 ? `: ${held.join(' ')}` : ''}`)
  }
  if (out.json) for (const agent of agents) out.record({ type: 'agent', ...agent }, '')
  out.say(`${nodes.length} nodes, ${agents.length} agents`)
}
