/**
 * Child process of bench/agent: the other end of every measurement, so that
 * caller and callee each have a process (and a core) of their own. Commands
 * come one JSON object per stdin line; each is answered with one JSON line
 * on stdout. The process exits when stdin closes.
 *
 *   { serve: { certs } }            agent servers (TCP, TLS) answering `echo`,
 *                                   and the raw echo servers of baseline.ts
 *   { agent: { port, secure, ca } } one agent answering `echo`
 *   { agents: { port, count } }     `count` agents on one shared cio (sendAll)
 *   { raws: { port, count } }       `count` raw framed echo clients (sendAll baseline)
 *   { memory: { kind, role, port?, count } }
 *                                   memory per idle connection (run with --expose-gc),
 *                                   kind raw | rpc | agent: role `server` listens, then
 *                                   measures before and after the parent's clients
 *                                   (two `{}` lines tell it when); role `client` opens
 *                                   `count` connections to `port` itself
 */
import { once } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import { createInterface } from 'node:readline'
import buildCio from '../lib/index.js'
import { Agent, AgentServer } from '../lib/agent/index.js'
import type { CertSet } from '../lib/tls/certs.js'
import { RpcHandlers } from '../lib/rpc/handlers.js'
import rpcListeners from '../listeners/rpc.js'
import { serveEcho } from './baseline.js'

export const SECRET = 'bench secret: a long random string in real life'
/** Connections made and closed before a memory measurement. */
export const WARM_UP = 100

const echo = (message: unknown): unknown => message
const keep: unknown[] = []
const reply = (value: unknown): boolean => process.stdout.write(`${JSON.stringify(value)}\n`)
const portOf = (server: net.Server): number => (server.address() as net.AddressInfo).port

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return portOf(server)
}

function gcNow(): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with --expose-gc')
  for (let i = 0; i < 4; i++) gc()
}

/** Heap (with Buffers and other external memory) and resident set, after a full collection. */
async function memory(): Promise<{ heap: number; rss: number }> {
  await new Promise((resolve) => setTimeout(resolve, 50))
  gcNow()
  const usage = process.memoryUsage()
  return { heap: usage.heapUsed + usage.external, rss: usage.rss }
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (condition()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`timed out waiting for ${what}`)
}

async function serve(certs: CertSet): Promise<void> {
  const tcp = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1' }).onHook('echo', echo)
  const secure = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', key: certs.server.key, cert: certs.server.cert }).onHook('echo', echo)
  const rawTcp = net.createServer(serveEcho)
  const rawTls = tls.createServer({ key: certs.server.key, cert: certs.server.cert }, serveEcho)
  keep.push(tcp, secure, rawTcp, rawTls)
  reply({ agentTcp: (await tcp.ready()).port, agentTls: (await secure.ready()).port, rawTcp: await listen(rawTcp), rawTls: await listen(rawTls) })
}

async function agent(port: number, secure: boolean, ca: string | undefined): Promise<void> {
  const one = new Agent({ host: `${secure ? 'tls' : 'tcp'}://127.0.0.1:${port}`, secret: SECRET, ...(ca === undefined ? {} : { ca }) }).onHook('echo', echo)
  keep.push(one)
  await once(one, 'ready')
  reply({ ready: one.name })
}

async function agents(port: number, count: number): Promise<Agent[]> {
  const cio = buildCio()
  const list = Array.from({ length: count }, () => new Agent({ host: `127.0.0.1:${port}`, secret: SECRET, cio, handshakeTimeout: 60_000 }).onHook('echo', echo))
  await Promise.all(list.map((one) => once(one, 'ready')))
  return list
}

async function raws(port: number, count: number): Promise<net.Socket[]> {
  const list = Array.from({ length: count }, () => net.connect({ port, host: '127.0.0.1' }))
  for (const socket of list) serveEcho(socket)
  await Promise.all(list.map((socket) => once(socket, 'connect')))
  return list
}

type Kind = 'raw' | 'rpc' | 'agent'

/** Clients of one kind, to be closed after a warm-up. */
async function connectClients(kind: Kind, port: number, count: number): Promise<Array<{ close(): unknown }>> {
  const made: Array<{ close(): unknown }> = []
  const cio = buildCio()
  cio.onClient(rpcListeners)
  // In batches: a thousand handshakes at once would measure their garbage's peak, not idle connections.
  for (let start = 0; start < count; start += 100) {
    const batch = Math.min(100, count - start)
    if (kind === 'agent') made.push(...(await agents(port, batch)))
    else if (kind === 'raw') made.push(...(await raws(port, batch)).map((socket) => ({ close: () => socket.destroy() })))
    else {
      const list = Array.from({ length: batch }, () => cio.client({ port, host: '127.0.0.1' }))
      await Promise.all(list.map((socket) => once(socket, 'connect')))
      made.push(...list.map((socket) => ({ close: () => socket.destroy() })))
    }
  }
  return made
}

/**
 * Memory per idle connection, on the side that accepts or the side that
 * connects. A warm-up round of connections, made and closed first, keeps
 * one-time costs (compiled code, caches) out of the per-connection figure.
 */
async function measureMemory(kind: Kind, role: 'server' | 'client', port: number | undefined, count: number, commands: AsyncIterator<string>): Promise<void> {
  if (role === 'client') {
    for (const client of await connectClients(kind, port as number, WARM_UP)) await client.close()
    const before = await memory()
    keep.push(await connectClients(kind, port as number, count))
    return void reply({ before, after: await memory(), count })
  }
  let connections: () => number
  let listening: number
  if (kind === 'agent') {
    const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1' }).onHook('echo', echo)
    keep.push(server)
    listening = (await server.ready()).port
    connections = () => server.getAgents().length
  } else {
    let open = 0
    let server: net.Server
    if (kind === 'raw') server = net.createServer(serveEcho)
    else {
      const cio = buildCio()
      cio.onServerClient(rpcListeners)
      server = cio.server({ handlers: new RpcHandlers().on('echo', echo) })
    }
    keep.push(server)
    server.on('connection', (socket: net.Socket) => (open++, socket.on('close', () => open--)))
    connections = () => open
    listening = await listen(server)
  }
  reply({ port: listening })
  await commands.next() // the warm-up clients came and went
  await waitFor(() => connections() === 0, 'the warm-up connections to close')
  const before = await memory()
  reply({ ok: true })
  await commands.next()
  await waitFor(() => connections() >= count, 'the connections')
  reply({ before, after: await memory(), count: connections() })
}

/** The commands, one per stdin line. */
interface Command {
  serve?: { certs: CertSet }
  agent?: { port: number; secure: boolean; ca?: string }
  agents?: { port: number; count: number }
  raws?: { port: number; count: number }
  memory?: { kind: Kind; role: 'server' | 'client'; port?: number; count: number }
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
for (;;) {
  const { value, done } = await lines.next()
  if (done === true) break
  const command = JSON.parse(value as string) as Command
  if (command.serve) await serve(command.serve.certs)
  else if (command.agent) await agent(command.agent.port, command.agent.secure, command.agent.ca)
  else if (command.agents) keep.push(await agents(command.agents.port, command.agents.count), reply({ ready: command.agents.count }))
  else if (command.raws) keep.push(await raws(command.raws.port, command.raws.count), reply({ ready: command.raws.count }))
  else if (command.memory) await measureMemory(command.memory.kind, command.memory.role, command.memory.port, command.memory.count, lines)
}
process.exit(0)
