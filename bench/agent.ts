/**
 * bench/agent: the agent layer against hand-written framed JSON over raw
 * `net`/`tls` (baseline.ts) in the same run.
 *
 *   - calls/s, agent → server and server → agent, with 1 and 64 in flight,
 *     over TCP and TLS; each side of a comparison is measured in ten
 *     alternating slices per round, so machine noise falls on both alike;
 *   - the time of one `sendAll` to 1,000 connected agents, against the same
 *     fan-out over 1,000 raw framed sockets;
 *   - memory per idle connection, accepting side and connecting side, for a
 *     raw framed socket, a cio RPC connection (the layers under the agent)
 *     and an agent: heap (with external) and RSS deltas over 1,000
 *     connections after full GCs, in a fresh child process each, after a
 *     warm-up round so that compiled code is not counted per connection.
 *
 * Callers run here, callees in a child process (agent-peer.ts). Figures are
 * medians over BENCH_ROUNDS interleaved rounds (default 3); BENCH_MS
 * (default 1000) is the time per side and round of each call scenario;
 * BENCH_PARTS (default `calls,fanout,memory`) picks the parts to run.
 *
 *   npx tsx bench/agent.ts
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import buildCio from '../lib/index.js'
import { generateCerts, type CertSet } from '../lib/tls/certs.js'
import { Agent, AgentServer } from '../lib/agent/index.js'
import { RpcHandlers } from '../lib/rpc/handlers.js'
import rpcListeners from '../listeners/rpc.js'
import { BaselineClient, serveEcho } from './baseline.js'
import { measure, small as body, type Call } from './method.js'
import { median, table } from './stats.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const DURATION_MS = Number(process.env.BENCH_MS ?? 1000)
const SLICES = 10
const FANOUT = 1000
const PARTS = new Set((process.env.BENCH_PARTS ?? 'calls,fanout,memory').split(','))
const SECRET = 'bench secret: a long random string in real life'
const PEER = fileURLToPath(new URL('./agent-peer.ts', import.meta.url))


/** A child process speaking one JSON line per command and per answer. */
class Peer {
  readonly child: ChildProcess
  readonly #lines: AsyncIterator<string>
  constructor(extraArgs: string[] = []) {
    this.child = spawn(process.execPath, [...extraArgs, ...process.execArgv, PEER], { stdio: ['pipe', 'pipe', 'inherit'] })
    this.#lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
  }
  async ask<T>(command: unknown): Promise<T> {
    this.child.stdin?.write(`${JSON.stringify(command)}\n`)
    return this.read<T>()
  }
  async read<T>(): Promise<T> {
    const { value, done } = await this.#lines.next()
    if (done === true) throw new Error('the bench peer exited')
    return JSON.parse(value as string) as T
  }
  async stop(): Promise<void> {
    this.child.stdin?.end()
    if (this.child.exitCode === null) await once(this.child, 'exit')
  }
}

/** One round of a scenario: both sides in alternating slices; calls/s of each. */
async function round(cio: Call, baseline: Call, inFlight: number, cioFirst: boolean): Promise<{ cio: number; baseline: number }> {
  const totals = { cio: { calls: 0, elapsed: 0 }, baseline: { calls: 0, elapsed: 0 } }
  const sides = { cio, baseline }
  for (let slice = 0; slice < SLICES; slice++) {
    const order: Array<'cio' | 'baseline'> = (slice % 2 === 0) === cioFirst ? ['cio', 'baseline'] : ['baseline', 'cio']
    for (const side of order) {
      const { calls, elapsed } = await measure(sides[side], inFlight, body, DURATION_MS / SLICES)
      totals[side].calls += calls
      totals[side].elapsed += elapsed
    }
  }
  return { cio: (totals.cio.calls * 1000) / totals.cio.elapsed, baseline: (totals.baseline.calls * 1000) / totals.baseline.elapsed }
}

const format = (value: number): string => (value >= 100 ? value.toFixed(0) : value.toFixed(1))
const ratios = (cio: number[], baseline: number[]): number[] => cio.map((value, index) => value / (baseline[index] ?? value))

// ---- calls/s ----------------------------------------------------------------
interface Scenario { name: string; inFlight: number; cio: Call; baseline: Call }
type Rates = Array<{ cio: number[]; baseline: number[] }>

/** Calls/s both ways, TCP and TLS, 1 and 64 in flight, against the raw baselines. */
async function benchCalls(certs: CertSet): Promise<{ scenarios: Scenario[]; rates: Rates }> {
  const callee = new Peer()
  const ports = await callee.ask<{ agentTcp: number; agentTls: number; rawTcp: number; rawTls: number }>({ serve: { certs } })
  const agentTcp = new Agent({ host: `tcp://127.0.0.1:${ports.agentTcp}`, secret: SECRET })
  const agentTls = new Agent({ host: `tls://127.0.0.1:${ports.agentTls}`, secret: SECRET, ca: certs.ca.cert })
  const serverTcp = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1' })
  const serverTls = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', key: certs.server.key, cert: certs.server.cert })
  const rawTcpSocket = net.connect({ port: ports.rawTcp, host: '127.0.0.1' })
  const rawTlsSocket = tls.connect({ port: ports.rawTls, host: '127.0.0.1', ca: certs.ca.cert })
  await Promise.all([once(agentTcp, 'ready'), once(agentTls, 'ready'), once(rawTcpSocket, 'connect'), once(rawTlsSocket, 'secureConnect')])
  const rawTcp = new BaselineClient(rawTcpSocket)
  const rawTls = new BaselineClient(rawTlsSocket)
  // The callee's agents connect to the servers here, which then call them.
  const tcpName = (await callee.ask<{ ready: string }>({ agent: { port: (await serverTcp.ready()).port, secure: false } })).ready
  const tlsName = (await callee.ask<{ ready: string }>({ agent: { port: (await serverTls.ready()).port, secure: true, ca: certs.ca.cert } })).ready

  const scenarios: Scenario[] = []
  for (const inFlight of [1, 64]) {
    scenarios.push(
      { name: `agent → server, TCP, ${inFlight} in flight`, inFlight, cio: (b) => agentTcp.send('echo', b), baseline: (b) => rawTcp.call('echo', b) },
      { name: `server → agent, TCP, ${inFlight} in flight`, inFlight, cio: (b) => serverTcp.sendTo(tcpName, 'echo', b), baseline: (b) => rawTcp.call('echo', b) },
      { name: `agent → server, TLS, ${inFlight} in flight`, inFlight, cio: (b) => agentTls.send('echo', b), baseline: (b) => rawTls.call('echo', b) },
      { name: `server → agent, TLS, ${inFlight} in flight`, inFlight, cio: (b) => serverTls.sendTo(tlsName, 'echo', b), baseline: (b) => rawTls.call('echo', b) },
    )
  }
  for (const scenario of scenarios) {
    await measure(scenario.cio, scenario.inFlight, body, 200)
    await measure(scenario.baseline, scenario.inFlight, body, 200)
  }
  const rates: Rates = scenarios.map(() => ({ cio: [], baseline: [] }))
  for (let index = 0; index < ROUNDS; index++) {
    for (const [s, scenario] of scenarios.entries()) {
      const rate = await round(scenario.cio, scenario.baseline, scenario.inFlight, index % 2 === 0)
      rates[s]?.cio.push(rate.cio)
      rates[s]?.baseline.push(rate.baseline)
    }
    process.stderr.write(`calls: round ${index + 1}/${ROUNDS} done\n`)
  }
  await Promise.all([agentTcp.close(), agentTls.close(), serverTcp.close(), serverTls.close()])
  rawTcpSocket.destroy()
  rawTlsSocket.destroy()
  await callee.stop()
  return { scenarios, rates }
}

// ---- sendAll to 1,000 agents ------------------------------------------------
/** Times of one sendAll to FANOUT agents, and of the same fan-out over raw framed sockets. */
async function benchFanout(): Promise<{ cio: number[]; baseline: number[] }> {
  const fanout = new Peer()
  const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1' })
  await fanout.ask({ agents: { port: (await server.ready()).port, count: FANOUT } })
  const rawServer = net.createServer()
  const rawSockets: net.Socket[] = []
  rawServer.on('connection', (socket) => rawSockets.push(socket))
  rawServer.listen(0, '127.0.0.1')
  await once(rawServer, 'listening')
  await fanout.ask({ raws: { port: (rawServer.address() as net.AddressInfo).port, count: FANOUT } })
  while (rawSockets.length < FANOUT) await new Promise((resolve) => setTimeout(resolve, 10))
  const rawClients = rawSockets.map((socket) => new BaselineClient(socket))
  const sides = {
    cio: (): Promise<unknown> => server.sendAll('echo', body),
    baseline: (): Promise<unknown> => Promise.all(rawClients.map((client) => client.call('echo', body))),
  }
  const times = { cio: [] as number[], baseline: [] as number[] }
  for (let index = -3; index < Math.max(5, ROUNDS); index++) {
    for (const side of index % 2 === 0 ? (['cio', 'baseline'] as const) : (['baseline', 'cio'] as const)) {
      const start = performance.now()
      await sides[side]()
      // The first rounds only warm up.
      if (index >= 0) times[side].push(performance.now() - start)
    }
  }
  await server.close()
  rawServer.close()
  for (const socket of rawSockets) socket.destroy()
  await fanout.stop()
  return times
}

// ---- memory per idle connection ---------------------------------------------
type Kind = 'raw' | 'rpc' | 'agent'
const KINDS: readonly Kind[] = ['raw', 'rpc', 'agent']
// A small young generation: otherwise the burst of handshake garbage grows it
// (tens of MB, kept committed), which RSS would count per connection.
const MEMORY_FLAGS = ['--expose-gc', '--max-semi-space-size=1']
interface Memory { before: { heap: number; rss: number }; after: { heap: number; rss: number }; count: number }
interface PerConnection { heap: number; rss: number }
type MemoryRuns = Record<'server' | 'client', Record<Kind, PerConnection[]>>
const perConnection = (m: Memory): PerConnection => ({ heap: (m.after.heap - m.before.heap) / m.count, rss: (m.after.rss - m.before.rss) / m.count })

/** Clients made here, against a memory child's server, in batches (a thousand handshakes at once would measure their garbage). */
async function clients(kind: Kind, port: number, count: number, cio: ReturnType<typeof buildCio>): Promise<Array<{ close(): unknown }>> {
  const made: Array<{ close(): unknown }> = []
  for (let start = 0; start < count; start += 100) {
    const batch = Math.min(100, count - start)
    if (kind === 'agent') {
      const agents = Array.from({ length: batch }, () => new Agent({ host: `127.0.0.1:${port}`, secret: SECRET, cio, handshakeTimeout: 60_000 }))
      await Promise.all(agents.map((agent) => once(agent, 'ready')))
      made.push(...agents)
    } else {
      const sockets = Array.from({ length: batch }, () => net.connect({ port, host: '127.0.0.1' }))
      await Promise.all(sockets.map((socket) => once(socket, 'connect')))
      made.push(...sockets.map((socket) => ({ close: () => socket.destroy() })))
    }
  }
  return made
}

/** The accepting side: a fresh child listens; this process connects, after a warm-up round. */
async function serverSide(kind: Kind): Promise<PerConnection> {
  const peer = new Peer(MEMORY_FLAGS)
  const { port } = await peer.ask<{ port: number }>({ memory: { kind, role: 'server', count: FANOUT } })
  const cio = buildCio()
  for (const client of await clients(kind, port, 100, cio)) await client.close()
  await peer.ask({})
  const open = await clients(kind, port, FANOUT, cio)
  const result = perConnection(await peer.ask<Memory>({}))
  await Promise.all(open.map((client) => client.close()))
  await peer.stop()
  return result
}

/** The connecting side: this process listens; a fresh child connects. */
async function clientSide(kind: Kind): Promise<PerConnection> {
  let server: net.Server | AgentServer
  if (kind === 'agent') server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1' })
  else if (kind === 'raw') server = net.createServer(serveEcho)
  else {
    const cio = buildCio()
    cio.onServerClient(rpcListeners)
    server = cio.server({ handlers: new RpcHandlers().on('echo', (message) => message) })
  }
  let port: number
  if (server instanceof AgentServer) port = (await server.ready()).port
  else {
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as net.AddressInfo).port
  }
  const peer = new Peer(MEMORY_FLAGS)
  const result = perConnection(await peer.ask<Memory>({ memory: { kind, role: 'client', port, count: FANOUT } }))
  await peer.stop()
  if (server instanceof AgentServer) await server.close()
  else await new Promise((resolve) => (server as net.Server).close(resolve))
  return result
}

async function benchMemory(): Promise<MemoryRuns> {
  const runs: MemoryRuns = { server: { raw: [], rpc: [], agent: [] }, client: { raw: [], rpc: [], agent: [] } }
  for (let index = 0; index < ROUNDS; index++) {
    for (const kind of index % 2 === 0 ? KINDS : [...KINDS].reverse()) {
      runs.server[kind].push(await serverSide(kind))
      runs.client[kind].push(await clientSide(kind))
    }
    process.stderr.write(`memory: round ${index + 1}/${ROUNDS} done\n`)
  }
  return runs
}

// ---- run and report ---------------------------------------------------------
console.log(`bench/agent: ${ROUNDS} rounds, ${DURATION_MS} ms per side and round in ${SLICES} interleaved slices, Node ${process.version}`)
if (PARTS.has('calls')) {
  const { scenarios, rates } = await benchCalls(await generateCerts())
  console.log(`\n${table(['calls/s (~100 B bodies)', 'raw baseline', 'agent layer', 'agent / raw (median of rounds)', 'per-round ratios'], scenarios.map((scenario, s) => {
    const r = rates[s] ?? { cio: [], baseline: [] }
    const each = ratios(r.cio, r.baseline)
    return [scenario.name, format(median(r.baseline)), format(median(r.cio)), median(each).toFixed(2), each.map((ratio) => ratio.toFixed(2)).join(' ')]
  }))}`)
}
if (PARTS.has('fanout')) {
  const times = await benchFanout()
  console.log(`\n${table([`fan-out to ${FANOUT} connections, TCP`, 'raw baseline (ms)', 'sendAll (ms)', 'raw / sendAll time'], [
    ['one call to each, all answers awaited (median)', median(times.baseline).toFixed(1), median(times.cio).toFixed(1), (median(times.baseline) / median(times.cio)).toFixed(2)],
  ])}`)
}
if (PARTS.has('memory')) {
  const runs = await benchMemory()
  const kb = (bytes: number): string => (bytes / 1024).toFixed(2)
  console.log(`\n${table(['memory per idle connection (KB)', 'raw framed socket', 'cio RPC only', 'agent', 'agent / raw', 'agent / RPC'], (['server', 'client'] as const).flatMap((role) => (['heap', 'rss'] as const).map((what) => {
    const [raw, rpcOnly, agent] = KINDS.map((kind) => median(runs[role][kind].map((m) => m[what]))) as [number, number, number]
    return [`${role === 'server' ? 'accepting side' : 'connecting side'}, ${what === 'heap' ? 'heap + external' : 'RSS'}`, kb(raw), kb(rpcOnly), kb(agent), (agent / raw).toFixed(2), (agent / rpcOnly).toFixed(2)]
  })))}`)
}
