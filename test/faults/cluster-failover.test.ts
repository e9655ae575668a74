/**
 * Nodes in child processes, one of them killed with SIGKILL while calls to
 * its agents are in flight: every call settles with a named outcome, the
 * agents come back on the other nodes under their own names, and nothing
 * is left pending anywhere.
 */
import { once } from 'node:events'
import t from 'tap'
import { Agent } from '../../lib/agent/client/agent.js'
import { Child, type ChildEvent } from './children.js'
import { SECRET } from '../helpers/agents.js'
import { needRedis, startRedis } from '../helpers/redis.js'
import { until } from '../cluster/nodes.js'

const HEARTBEAT = 100
const NODE_TIMEOUT = 500

interface Listed {
  name: string
  node: string
}

t.test('cluster failover - kill -9 of a node during sendAllSettled and a pending sendTo', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const children = ['n1', 'n2', 'n3'].map((nodeName) => new Child('cluster-node', { secret: SECRET, redis: redis.path, nodeName, heartbeatInterval: HEARTBEAT, nodeTimeout: NODE_TIMEOUT }, t.teardown.bind(t)))
  t.teardown(() => Promise.all(children.map((child) => child.stop(3000))))
  const ready = await Promise.all(children.map((child) => child.wait('ready', 15_000)))
  const ports = ready.map((event) => event.port as number)
  const nodeIds = ready.map((event) => event.nodeId as string)
  let nextId = 1
  const request = async (child: Child, command: Record<string, unknown>, ms = 10_000): Promise<ChildEvent> => {
    const id = nextId++
    const from = child.events.length
    child.send({ ...command, id })
    return child.next((event) => event.event === 'result' && event.id === id, ms, from)
  }

  const agents: Agent[] = []
  for (let i = 0; i < 9; i++) {
    // Reconnects wait at least 200 ms (equal jitter), so a call right after the kill still finds the dead node's names.
    const agent = new Agent({ host: ports.map((port) => `tcp://127.0.0.1:${port}`), secret: SECRET, heartbeatInterval: 0, reconnect: { initialDelay: 400, maxDelay: 400 } })
    agent.on('error', () => {})
    agent.onHook('who', () => agent.name)
    agent.onHook('slow', (ms) => new Promise((resolve) => setTimeout(resolve, ms as number, agent.name)))
    t.teardown(() => agent.close())
    agents.push(agent)
  }
  await Promise.all(agents.map((agent) => once(agent, 'ready')))
  const listed = (await request(children[0] as Child, { cmd: 'listAgents' })).agents as Listed[]
  t.equal(listed.length, 9, 'nine agents over three nodes')
  t.equal(new Set(listed.map((agent) => agent.name)).size, 9, 'nine distinct names')
  // The node holding most agents is killed (one holds at least three); another one calls.
  const counts = nodeIds.map((id) => listed.filter((agent) => agent.node === id).length)
  const victim = counts.indexOf(Math.max(...counts))
  const caller = children[(victim + 1) % 3] as Child
  const victims = listed.filter((agent) => agent.node === nodeIds[victim]).map((agent) => agent.name)
  const survivors = listed.filter((agent) => agent.node !== nodeIds[victim]).map((agent) => agent.name)

  const settled = request(caller, { cmd: 'sendAllSettled', action: 'slow', message: 1500, timeout: 8000 })
  const pending = request(caller, { cmd: 'sendTo', name: victims[0], action: 'slow', message: 1500, timeout: 8000 })
  await new Promise((resolve) => setTimeout(resolve, 300))
  const killedAt = Date.now()
  ;(children[victim] as Child).kill('SIGKILL')
  await (children[victim] as Child).exited
  // Redis drops the dead process's subscription as its socket closes; give it a moment to read the EOF.
  await new Promise((resolve) => setTimeout(resolve, 50))
  const fast = await request(caller, { cmd: 'sendTo', name: victims[1], action: 'who', timeout: 8000 })
  t.equal(fast.code, 'AGENT_NOT_CONNECTED', 'a new call to the dead node fails at once: its inbox has no subscriber')
  t.equal(fast.cause, 'NODE_LOST', 'cause NODE_LOST')
  t.comment(`new call after kill -9: ${Math.round(fast.ms as number)} ms`)

  const one = await pending
  t.equal(one.code, 'DISCONNECTED', 'the pending sendTo: DISCONNECTED')
  t.equal(one.cause, 'NODE_LOST', 'cause NODE_LOST')
  t.equal(one.node, nodeIds[victim], 'naming the node')
  t.comment(`pending sendTo rejected ${(one.t as number) - killedAt} ms after kill -9 (nodeTimeout ${NODE_TIMEOUT} + heartbeat ${HEARTBEAT})`)

  const all = await settled
  const outcomes = all.outcomes as Record<string, { ok: boolean; code?: string; cause?: string; value?: unknown }>
  t.same(Object.keys(outcomes).sort(), listed.map((agent) => agent.name).sort(), 'every agent named')
  for (const name of victims) t.match(outcomes[name], { ok: false, code: 'DISCONNECTED', cause: 'NODE_LOST' }, `${name} (dead node): DISCONNECTED / NODE_LOST`)
  for (const name of survivors) t.same(outcomes[name], { ok: true, value: name }, `${name}: answered`)
  t.comment(`sendAllSettled settled ${(all.t as number) - killedAt} ms after kill -9`)

  // The dead node's agents come back on the others under their own names once its lease is gone.
  await until(async () => {
    const now = (await request(caller, { cmd: 'listAgents' })).agents as Listed[]
    return now.length === 9 && now.every((agent) => agent.node !== nodeIds[victim])
  }, 15_000, 'the agents to fail over')
  t.comment(`all agents reachable again ${Date.now() - killedAt} ms after kill -9`)
  t.same(agents.map((agent) => agent.name).sort(), listed.map((agent) => agent.name).sort(), 'every agent kept its name')
  for (const name of victims) t.same((await request(caller, { cmd: 'sendTo', name, action: 'who', timeout: 3000 })).value, name, `${name} reachable on its new node`)
  for (const child of children.filter((_, index) => index !== victim)) {
    const stats = await request(child, { cmd: 'stats' })
    t.equal(stats.pending, 0, 'nothing pending')
    t.equal(stats.serving, 0, 'nothing being served')
  }
})
