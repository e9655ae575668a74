import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import net from 'node:net'
import t, { type Test } from 'tap'
import { Agent, AgentServer, type AgentRecord } from '../../lib/agent/index.js'
import { clientProof } from '../../lib/agent/handshake.js'
import { CioError } from '../../lib/errors.js'
import { encodeFrame } from '../../lib/frame/encoder.js'
import { RawReader } from '../helpers/framing.js'

const SECRET = 'flood test shared secret'
const SOCKETS = Number(process.env.FAULT_SOCKETS ?? 1000)
/** Short, for the silent sockets; the wrong-secret run keeps the default (10 s), so no answer races the timer. */
const HANDSHAKE_TIMEOUT = 300
/** Connections opened at once: the listen backlog (511) must not overflow into SYN retries. */
const WINDOW = 250

async function floodTarget(t: Test, handshakeTimeout?: number) {
  const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', handshakeTimeout, noRelisten: true })
  t.teardown(() => server.close())
  server.onHook('echo', (message) => message)
  const { port } = await server.ready()
  /** Codes reported per client port (read when the connection arrives: a destroyed socket forgets it). */
  const reports = new Map<number, string[]>()
  const ports = new WeakMap<net.Socket, number>()
  server.netServer.on('connection', (socket: net.Socket) => ports.set(socket, socket.remotePort ?? 0))
  const count = (error: unknown, socket: net.Socket): void => {
    const code = error instanceof CioError ? error.code : `uncoded: ${String(error)}`
    const port = ports.get(socket) ?? 0
    reports.set(port, [...(reports.get(port) ?? []), code])
  }
  server.netServer.on('serverClientError', count)
  server.netServer.on('protocolError', count)
  const errors = new Map<string, number>()
  server.on('error', (error) => errors.set(error.code, (errors.get(error.code) ?? 0) + 1))
  return { server, port, reports, errors }
}

/** Runs `task` for 0..n-1, `window` at a time. */
async function windowed(n: number, window: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(window, n) }, async () => {
    while (next < n) await task(next++)
  }))
}

t.test(`faults - ${SOCKETS} sockets that never finish the handshake are all closed after handshakeTimeout, while a real agent is served`, async (t) => {
  const { server, port, reports } = await floodTarget(t, HANDSHAKE_TIMEOUT)
  const sockets: net.Socket[] = []
  const silentPorts: number[] = []
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
  })
  const closedAll = { count: 0 }
  await windowed(SOCKETS, WINDOW, async (i) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    sockets.push(socket)
    socket.on('error', () => {})
    socket.resume()
    socket.once('close', () => closedAll.count++)
    await once(socket, 'connect')
    silentPorts.push(socket.localPort ?? 0)
    // A third say nothing, a third start the handshake and stop, a third send half a frame.
    if (i % 3 === 1) socket.write(encodeFrame({ id: 1, action: 'cio.hello', body: { nonce: randomBytes(32).toString('base64') } }))
    else if (i % 3 === 2) socket.write(encodeFrame({ id: 1, action: 'cio.hello' }).subarray(0, 10))
  })
  // Meanwhile a real agent connects and is served.
  const agent = new Agent({ host: `127.0.0.1:${port}`, secret: SECRET })
  t.teardown(() => agent.close())
  const [name] = (await once(agent, 'ready')) as [string]
  t.equal(await agent.send('echo', 'through the flood'), 'through the flood', 'the agent is answered during the flood')
  await Promise.all(sockets.map((socket) => (socket.closed ? undefined : once(socket, 'close'))))
  t.equal(closedAll.count, SOCKETS, 'every silent socket was closed by the server')
  t.same(silentPorts.filter((p) => reports.get(p)?.join() !== 'HANDSHAKE_TIMEOUT'), [], 'each with HANDSHAKE_TIMEOUT, and nothing else')
  // The agent's own first attempt may lose the race with the timeout on a loaded machine: then it retried, which is fine.
  t.same([...reports.values()].flat().filter((code) => code !== 'HANDSHAKE_TIMEOUT'), [], 'no other error anywhere')
  t.same(server.getAgents().map((a: AgentRecord) => a.name), [name], 'the agent is still connected')
  t.equal(await server.sendTo(name, 'who').catch((error: CioError) => error.code), 'UNKNOWN_ACTION', 'and reachable from the server')
  t.equal(await new Promise((resolve) => server.netServer.getConnections((_, n) => resolve(n))), 1, 'only its connection is left')
})

t.test(`faults - ${SOCKETS} handshakes with a wrong secret are each answered WRONG_SECRET, and the server stays healthy`, async (t) => {
  const { server, port, reports, errors } = await floodTarget(t)
  const agent = new Agent({ host: `127.0.0.1:${port}`, secret: SECRET })
  t.teardown(() => agent.close())
  const [name] = (await once(agent, 'ready')) as [string]
  const answers = new Map<string, number>()
  const sockets = new Set<net.Socket>()
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
  })
  await windowed(SOCKETS, WINDOW, async () => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    sockets.add(socket)
    socket.on('error', () => {})
    const reader = new RawReader(socket)
    await once(socket, 'connect')
    const nonce = randomBytes(32)
    socket.write(encodeFrame({ id: 1, action: 'cio.hello', body: { nonce: nonce.toString('base64') } }))
    const challenge = (await reader.next()) as { result: { nonce: string } }
    // A well-formed proof, made with another secret.
    const proof = clientProof('not the secret, but long enough', nonce, Buffer.from(challenge.result.nonce, 'base64')).toString('base64')
    socket.write(encodeFrame({ id: 2, action: 'cio.prove', body: { proof } }))
    const answer = (await reader.next()) as { id: number; fault?: { code: string } }
    const code = answer.id === 2 ? (answer.fault?.code ?? 'no fault') : `answer to ${answer.id}`
    answers.set(code, (answers.get(code) ?? 0) + 1)
    if (!socket.closed) await once(socket, 'close')
    sockets.delete(socket)
  })
  t.same(Object.fromEntries(answers), { WRONG_SECRET: SOCKETS }, 'every one answered WRONG_SECRET, then closed')
  t.same(Object.fromEntries(errors), { WRONG_SECRET: SOCKETS }, "each reported to the server's owner once")
  t.same(Object.fromEntries(reports), {}, 'no protocol error, no socket error')
  // Healthy afterwards: the real agent works both ways, and new agents get in.
  t.equal(await agent.send('echo', 'after'), 'after')
  const late = new Agent({ host: `127.0.0.1:${port}`, secret: SECRET })
  t.teardown(() => late.close())
  const [lateName] = (await once(late, 'ready')) as [string]
  t.same(server.getAgents().map((a: AgentRecord) => a.name).sort(), [name, lateName].sort(), 'exactly the two real agents are connected')
  t.equal(await new Promise((resolve) => server.netServer.getConnections((_, n) => resolve(n))), 2, 'no other connection lingers')
})
