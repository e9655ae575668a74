/**
 * bench/cluster: agent servers sharing one namespace through Redis, against
 * one server alone, in the same run.
 *
 *   - cross-node sendTo (node 1 -> Redis -> node 2 -> agent and back) against
 *     local sendTo from the same node, 1 and 64 in flight, ~100 B bodies, in
 *     alternating order over BENCH_ROUNDS rounds (default 5) of BENCH_MS
 *     (default 1000) each: calls/s, ratio, p50/p99 latency;
 *   - Redis commands and bytes per cross-node call at 1 and 64 in flight
 *     (INFO commandstats/stats);
 *   - sendAll to BENCH_AGENTS agents (default 10,000) spread over 3 nodes
 *     (each agent starts at a random one of the 3), against the same number
 *     on one server without a cluster: min/median/max of 5;
 *   - kill -9 of the node holding a third of them: time until a pending
 *     sendTo to one of its agents is rejected, and until all its agents are
 *     reachable again on the other nodes (defaults: heartbeat 1 s, node
 *     timeout 5 s).
 *
 * BENCH_ONLY=sendTo runs the first part alone (cross-node against local
 * sendTo and Redis commands per call) and skips sendAll and the kill -9.
 *
 * Every process runs on this machine's cores (2, shared with other jobs).
 *
 *   bash -c 'ulimit -n 20000; npx tsx bench/cluster.ts'
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { RedisInstance, redisServerBinary } from '../test/helpers/redis.js'
import { median, table } from './stats.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const DURATION_MS = Number(process.env.BENCH_MS ?? 1000)
const AGENTS = Number(process.env.BENCH_AGENTS ?? 10_000)
const SEND_TO_ONLY = process.env.BENCH_ONLY === 'sendTo'
const PEER = fileURLToPath(new URL('./cluster-peer.ts', import.meta.url))

type Answer = Record<string, unknown>

class Peer {
  readonly child: ChildProcess
  readonly #lines: AsyncIterator<string>
  constructor() {
    this.child = spawn(process.execPath, [...process.execArgv, PEER], { stdio: ['pipe', 'pipe', 'inherit'] })
    this.#lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
  }
  async ask(command: Answer): Promise<Answer> {
    this.child.stdin?.write(`${JSON.stringify(command)}\n`)
    const { value, done } = await this.#lines.next()
    if (done === true) throw new Error('a bench peer exited')
    const answer = JSON.parse(value as string) as Answer
    if (answer.error !== undefined) throw new Error(String(answer.error))
    return answer
  }
  async stop(): Promise<void> {
    this.child.stdin?.end()
    if (this.child.exitCode === null && this.child.signalCode === null) await once(this.child, 'exit')
  }
}

const binary = redisServerBinary()
if (binary === undefined) {
  console.error('bench/cluster needs redis-server (apt-get install redis-server)')
  process.exit(1)
}
const redis = new RedisInstance(binary)
await redis.start()
const raw = new Redis({ path: redis.path })
const peers: Peer[] = []
const peer = (): Peer => {
  const made = new Peer()
  peers.push(made)
  return made
}
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
const version = (await raw.info('server')).match(/redis_version:(\S+)/)?.[1]
const ioredisVersion = ((await import('ioredis/package.json', { with: { type: 'json' } })) as { default: { version: string } }).default.version
console.log(`cio bench/cluster: Node ${process.version}, Redis ${version}, ioredis ${ioredisVersion}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at start`)

async function redisTotals(): Promise<{ commands: number; bytesIn: number; bytesOut: number }> {
  const stats = await raw.info('commandstats')
  let commands = 0
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (match[1] !== 'info') commands += Number(match[2])
  const net = await raw.info('stats')
  return { commands, bytesIn: Number(net.match(/total_net_input_bytes:(\d+)/)?.[1]), bytesOut: Number(net.match(/total_net_output_bytes:(\d+)/)?.[1]) }
}

try {
  // ---- cross-node sendTo against local sendTo ----
  const n1 = peer()
  const n2 = peer()
  const p1 = (await n1.ask({ cmd: 'node', redis: redis.path, nodeName: 'n1' })).port as number
  const p2 = (await n2.ask({ cmd: 'node', redis: redis.path, nodeName: 'n2' })).port as number
  const agentsHost = peer()
  const local = ((await agentsHost.ask({ cmd: 'agents', ports: [p1], count: 1 })).names as string[])[0] as string
  const remote = ((await agentsHost.ask({ cmd: 'agents', ports: [p2], count: 1 })).names as string[])[0] as string
  await n1.ask({ cmd: 'calls', name: remote, inFlight: 8, ms: 500 })
  await n1.ask({ cmd: 'calls', name: local, inFlight: 8, ms: 500 })
  const rows: string[][] = []
  for (const inFlight of [1, 64]) {
    const results: Record<'local' | 'remote', Answer[]> = { local: [], remote: [] }
    for (let round = 0; round < ROUNDS; round++) {
      const order: Array<'local' | 'remote'> = round % 2 === 0 ? ['local', 'remote'] : ['remote', 'local']
      for (const side of order) results[side].push(await n1.ask({ cmd: 'calls', name: side === 'local' ? local : remote, inFlight, ms: DURATION_MS }))
    }
    const rate = (list: Answer[]): number => median(list.map((r) => ((r.calls as number) * 1000) / (r.elapsed as number)))
    const p = (list: Answer[], key: string): string => median(list.map((r) => r[key] as number)).toFixed(2)
    const ratios = results.local.map((l, i) => ((results.remote[i]?.calls as number) / (results.remote[i]?.elapsed as number)) / ((l.calls as number) / (l.elapsed as number)))
    rows.push([`${inFlight} in flight, ~100 B`, fmt(rate(results.local)), fmt(rate(results.remote)), `${median(ratios).toFixed(2)}x (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`, `${p(results.local, 'p50')} / ${p(results.local, 'p99')}`, `${p(results.remote, 'p50')} / ${p(results.remote, 'p99')}`])
  }
  console.log(`\nsendTo from node 1, ${ROUNDS} interleaved rounds of ${DURATION_MS} ms, medians:\n`)
  console.log(table(['scenario', 'local calls/s', 'cross-node calls/s', 'cross/local (min-max)', 'local p50 / p99 ms', 'cross-node p50 / p99 ms'], rows))
  for (const inFlight of [1, 64]) {
    const before = await redisTotals()
    const measured = await n1.ask({ cmd: 'calls', name: remote, inFlight, ms: DURATION_MS })
    const after = await redisTotals()
    const perCall = (key: 'commands' | 'bytesIn' | 'bytesOut'): string => ((after[key] - before[key]) / (measured.calls as number)).toFixed(2)
    console.log(`${inFlight === 1 ? '\n' : ''}Redis per cross-node call, ${inFlight} in flight: ${perCall('commands')} commands as INFO commandstats counts them (heartbeats included), ${perCall('bytesIn')} bytes in, ${perCall('bytesOut')} bytes out`)
  }
  if (!SEND_TO_ONLY) {
    // ---- sendAll over 3 nodes, then kill -9 of one ----
    const n3 = peer()
    const p3 = (await n3.ask({ cmd: 'node', redis: redis.path, nodeName: 'n3' })).port as number
    const hosts = [agentsHost, peer()]
    let t0 = performance.now()
    await Promise.all(hosts.map((host) => host.ask({ cmd: 'agents', ports: [p1, p2, p3], count: AGENTS / 2 })))
    console.log(`\n${fmt(AGENTS)} agents connected over 3 nodes in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    const spread = (await n1.ask({ cmd: 'list' })).byNode as Record<string, { count: number; sample: string }>
    console.log(`spread: ${Object.entries(spread).map(([node, { count }]) => `${node.split('~')[0]} ${fmt(count)}`).join(', ')} (2 agents for the call test included)`)
    const clusterRounds: number[] = []
    for (let round = 0; round < 5; round++) {
      const answer = await n1.ask({ cmd: 'sendAll', timeout: 60_000 })
      clusterRounds.push(answer.ms as number)
      if (answer.answers !== AGENTS + 2) console.log(`round ${round}: ${String(answer.answers)} answers`)
    }
    const n3Id = Object.keys(spread).find((node) => node.startsWith('n3~')) as string
    const pending = n1.ask({ cmd: 'sendTo', name: spread[n3Id]?.sample, action: 'slow', message: 120_000, timeout: 120_000 })
    await new Promise((resolve) => setTimeout(resolve, 200))
    const killedAt = Date.now()
    n3.child.kill('SIGKILL')
    const rejected = await pending
    const rejectedMs = (rejected.at as number) - killedAt
    let back = 0
    for (let i = 0; i < 600; i++) {
      const listed = await n1.ask({ cmd: 'list' })
      if (listed.agents === AGENTS + 2 && !Object.keys(listed.byNode as object).includes(n3Id)) {
        back = Date.now() - killedAt
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await Promise.all(hosts.map((host) => host.ask({ cmd: 'closeAgents' })))

    // ---- the same sendAll on one server alone ----
    const single = peer()
    const ps = (await single.ask({ cmd: 'node' })).port as number
    t0 = performance.now()
    await Promise.all(hosts.map((host) => host.ask({ cmd: 'agents', ports: [ps], count: AGENTS / 2 })))
    console.log(`${fmt(AGENTS)} agents connected to one server in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    const singleRounds: number[] = []
    for (let round = 0; round < 5; round++) singleRounds.push((await single.ask({ cmd: 'sendAll', timeout: 60_000 })).ms as number)
    const summary = (list: number[]): string => `${fmt(Math.min(...list))} / ${fmt(median(list))} / ${fmt(Math.max(...list))}`
    console.log(`\nsendAll to ${fmt(AGENTS)} agents, min / median / max of 5 (ms):\n`)
    console.log(table(['setup', 'ms', 'vs one server'], [
      ['3 nodes, called from node 1', summary(clusterRounds), `${(median(clusterRounds) / median(singleRounds)).toFixed(2)}x`],
      ['one server, no cluster', summary(singleRounds), '1x'],
    ]))
    console.log(`\nkill -9 of node 3 (${fmt(spread[n3Id]?.count ?? 0)} agents), heartbeat 1000 ms, node timeout 5000 ms:`)
    console.log(`  pending sendTo to one of its agents rejected with ${String(rejected.code)}/${String(rejected.cause)} after ${fmt(rejectedMs)} ms`)
    console.log(`  all its agents reachable again on nodes 1-2 after ${back === 0 ? 'more than 60 s' : `${fmt(back)} ms`}`)
  }
  console.log(`\nload average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
} finally {
  await Promise.all(peers.map((p) => p.stop().catch(() => {})))
  raw.disconnect()
  await redis.stop()
}
