/**
 * The load run shared by `test/faults/stress.test.ts` (1,000 agents) and
 * `bench/stress.ts` (10,000): one AgentServer in a child process, the
 * agents spread over a few more so the client side is not the bottleneck,
 * all on 127.0.0.1. Measures the time to connect and authenticate them
 * all, `sendAll` to all of them, and the server's memory per agent.
 */
import { Child, type ChildEvent, type Teardown } from './children.js'

export interface StressOptions {
  agents: number
  /** Processes the agents are spread over. */
  children: number
  /** Handshakes one agent process has under way at once. @default 100 */
  window?: number
  /** `sendAll` rounds. @default 3 */
  rounds?: number
  /** Bound on each step. @default 120000 */
  stepMs?: number
  teardown: Teardown
}

export interface StressFigures {
  agents: number
  /** Connected and authenticated, as counted by the server. */
  connected: number
  unique: number
  /** From the first agent process starting its agents to the last agent welcomed (ms). */
  connectMs: number
  /** Each `sendAll` round: ms, and how many answered. */
  sendAll: Array<{ ms: number; answers: number; code?: string }>
  /** Server memory growth per connected agent, after gc (bytes). */
  rssPerAgent: number
  heapPerAgent: number
  /** Agent processes' RSS per agent (bytes). */
  clientRssPerAgent: number
  /** CPU time (user + system) the server spent while the agents connected, per agent (µs). */
  serverCpuPerAgent: number
  /** CPU time the agent processes spent in all, per agent (µs). */
  clientCpuPerAgent: number
}

type Memory = { rss: number; heapUsed: number }
type Cpu = { user: number; system: number }
type Stats = ChildEvent & { agents: number; unique: number; memory: Memory; cpu: Cpu }

export async function runStress(options: StressOptions): Promise<StressFigures> {
  const stepMs = options.stepMs ?? 120_000
  const secret = 'stress test shared secret'
  const server = new Child('agent-server', { secret, quiet: true, heartbeatInterval: 15_000 }, options.teardown, ['--expose-gc'])
  const { port } = (await server.wait('listening', stepMs)) as ChildEvent & { port: number }
  const before = (await server.ask({ cmd: 'stats' }, 'stats', stepMs)) as Stats
  const idle = before.memory
  const per = Math.ceil(options.agents / options.children)
  const fleets: Child[] = []
  for (let k = 0; k * per < options.agents; k++) {
    const count = Math.min(per, options.agents - k * per)
    fleets.push(new Child('agents', { port, secret, count, offset: k * per, window: options.window ?? 100, quiet: true, heartbeatInterval: 15_000 }, options.teardown))
  }
  // Each process times its own agents from its start (after its boot), so boot time is not counted.
  let connectMs = 0
  for (const fleet of fleets) connectMs = Math.max(connectMs, ((await fleet.wait('allReady', stepMs)) as ChildEvent & { ms: number }).ms)
  const full = (await server.ask({ cmd: 'stats' }, 'stats', stepMs)) as Stats
  const sendAll: StressFigures['sendAll'] = []
  for (let round = 0; round < (options.rounds ?? 3); round++) {
    const answer = (await server.ask({ cmd: 'sendAll', action: 'ping', message: { round }, timeout: stepMs }, 'sendAll', stepMs)) as ChildEvent & { ms: number; answers?: number; code?: string }
    sendAll.push({ ms: answer.ms, answers: answer.answers ?? 0, code: answer.code })
  }
  let clientRss = 0
  let clientCpu = 0
  for (const fleet of fleets) {
    const stats = (await fleet.ask({ cmd: 'stats' }, 'stats', stepMs)) as Stats
    clientRss += stats.memory.rss
    clientCpu += stats.cpu.user + stats.cpu.system
  }
  await Promise.all(fleets.map((fleet) => fleet.stop()))
  await server.stop()
  return {
    agents: options.agents,
    connected: full.agents,
    unique: full.unique,
    connectMs,
    sendAll,
    rssPerAgent: (full.memory.rss - idle.rss) / full.agents,
    heapPerAgent: (full.memory.heapUsed - idle.heapUsed) / full.agents,
    clientRssPerAgent: clientRss / options.agents,
    serverCpuPerAgent: (full.cpu.user + full.cpu.system - before.cpu.user - before.cpu.system) / full.agents,
    clientCpuPerAgent: clientCpu / options.agents,
  }
}
