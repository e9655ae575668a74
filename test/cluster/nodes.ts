/**
 * In-process agent servers joined in one cluster on a test's own Redis, and
 * agents on them. Timings are scaled down (heartbeat 100 ms, node timeout
 * 500 ms) so that leases and recovery play out within a test.
 */
import type { Test } from 'tap'
import { Agent } from '../../lib/agent/client/agent.js'
import { AgentServer } from '../../lib/agent/server/agent-server.js'
import { redisCluster, type RedisClusterOptions } from '../../lib/redis/index.js'
import type { ClusterLink } from '../../lib/cluster/types.js'
import { SECRET } from '../helpers/agents.js'

export const CLUSTER_TIMING = { heartbeatInterval: 100, nodeTimeout: 500, redisTimeout: 1000 } as const

export interface TestNode {
  server: AgentServer
  link: ClusterLink
  port: number
}

/** A server in the cluster on `redisPath`, closed at teardown. */
export async function startNode(t: Test, redisPath: string, nodeName: string, options: Partial<RedisClusterOptions> = {}): Promise<TestNode> {
  const link = redisCluster({ redis: redisPath, nodeName, ...CLUSTER_TIMING, ...options })
  const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', heartbeatInterval: 0, handshakeTimeout: 2000, cluster: link })
  t.teardown(() => server.close())
  const { port } = await server.ready()
  return { server, link, port }
}

/** An agent on `port` answering `who` with its name; resolves once it has its name. */
export async function clusterAgent(t: Test, port: number | number[], name?: string): Promise<{ agent: Agent; name: string }> {
  const ports = Array.isArray(port) ? port : [port]
  const agent = new Agent({
    host: ports.map((p) => `tcp://127.0.0.1:${p}`),
    secret: SECRET,
    heartbeatInterval: 0,
    reconnect: { initialDelay: 20, maxDelay: 100 },
    ...(name === undefined ? {} : { dataStore: { save: async () => {}, load: async () => ({ name }) } }),
  })
  agent.on('error', () => {})
  agent.onHook('who', () => agent.name)
  t.teardown(() => agent.close())
  // Not events.once: it would reject on the `error` an agent emits for DUPLICATE_ID, which it retries.
  const given = await new Promise<string>((resolve) => agent.once('ready', resolve))
  return { agent, name: given }
}

/** Resolves when `check` holds, polling every 20 ms; rejects after `limit` ms. */
export async function until(check: () => boolean | Promise<boolean>, limit = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + limit
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
