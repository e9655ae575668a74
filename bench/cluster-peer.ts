/**
 * One process of bench/cluster.ts: an agent server (in a cluster or alone)
 * and/or agents, driven by JSON lines on stdin; one JSON line answers each
 * command. Commands: `node { redis?, nodeName }`, `agents { ports, count }`,
 * `calls { name, inFlight, ms }`, `sendAll { timeout }`, `sendTo { name,
 * action, message, timeout }`, `list`, `closeAgents`.
 */
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { Agent, AgentServer } from '../lib/agent/index.js'
import { redisCluster } from '../lib/redis/index.js'
import { small as body } from './method.js'

const SECRET = 'bench secret: a long random string in real life'
let server: AgentServer | undefined
const agents: Agent[] = []

function reply(value: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

/** Calls/s and latency percentiles of `inFlight` callers looping on sendTo(name) for `ms`. */
async function calls(name: string, inFlight: number, ms: number): Promise<Record<string, unknown>> {
  const s = server as AgentServer
  const latencies: number[] = []
  const start = performance.now()
  const end = start + ms
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now()
      await s.sendTo(name, 'echo', body)
      latencies.push(performance.now() - t0)
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  const elapsed = performance.now() - start
  latencies.sort((a, b) => a - b)
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
  return { calls: latencies.length, elapsed, p50: at(0.5), p99: at(0.99) }
}

async function handle(command: Record<string, unknown>): Promise<Record<string, unknown>> {
  switch (command.cmd) {
    case 'node': {
      const cluster = typeof command.redis === 'string' ? redisCluster({ redis: command.redis, nodeName: command.nodeName as string }) : undefined
      server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', heartbeatInterval: 0, ...(cluster === undefined ? {} : { cluster }) })
      server.on('error', () => {})
      server.onHook('echo', (message) => message)
      const { port } = await server.ready()
      return { port, nodeId: server.nodeId }
    }
    case 'agents': {
      const hosts = (command.ports as number[]).map((port) => `tcp://127.0.0.1:${port}`)
      const batch: Array<Promise<unknown>> = []
      for (let i = 0; i < (command.count as number); i++) {
        const agent = new Agent({ host: hosts, secret: SECRET, heartbeatInterval: 0, timeout: 60_000, reconnect: { initialDelay: 50, maxDelay: 500 } })
        agent.on('error', () => {})
        agent.onHook('echo', (message) => message)
        agent.onHook('slow', (ms) => new Promise((resolve) => setTimeout(resolve, ms as number, agent.name)))
        agents.push(agent)
        batch.push(once(agent, 'ready'))
        // Bounded handshakes in flight: a burst of thousands only queues in the kernel.
        if (batch.length >= 200) await Promise.all(batch.splice(0))
      }
      await Promise.all(batch)
      return { ready: agents.length, names: agents.slice(-(command.count as number)).map((agent) => agent.name) }
    }
    case 'calls':
      return calls(command.name as string, command.inFlight as number, command.ms as number)
    case 'sendAll': {
      const t0 = performance.now()
      const answers = await (server as AgentServer).sendAll('echo', body, command.timeout as number)
      return { ms: performance.now() - t0, answers: Object.keys(answers).length }
    }
    case 'sendTo': {
      const t0 = performance.now()
      try {
        const value = await (server as AgentServer).sendTo(command.name as string, command.action as string, command.message, command.timeout as number)
        return { ms: performance.now() - t0, ok: true, value }
      } catch (error) {
        const e = error as { code?: string; cause?: { code?: string } }
        return { ms: performance.now() - t0, ok: false, code: e.code, cause: e.cause?.code, at: Date.now() }
      }
    }
    case 'list': {
      const listed = await (server as AgentServer).listAgents()
      const byNode: Record<string, { count: number; sample: string }> = {}
      for (const agent of listed) (byNode[agent.node] ??= { count: 0, sample: agent.name }).count++
      return { agents: listed.length, byNode }
    }
    case 'closeAgents':
      await Promise.all(agents.splice(0).map((agent) => agent.close()))
      return { closed: true }
    default:
      throw new Error(`unknown command ${String(command.cmd)}`)
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as Record<string, unknown>
  handle(command).then(reply, (error: unknown) => reply({ error: String((error as Error).message ?? error) }))
})
process.stdin.on('end', () => {
  void Promise.all([server?.close(), ...agents.map((agent) => agent.close())]).then(() => process.exit(0))
})
