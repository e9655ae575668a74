/**
 * Hostile peers without the secret: what they can hold and for how long.
 * One deadline from accept to admission (TLS included), frames capped
 * before admission, a cap on connections not yet admitted, refused
 * connections no longer read, and the memory an unauthenticated
 * connection costs (measured in a child process).
 */
import { once } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import t, { type Test } from 'tap'
import buildCio from '../../lib/index.js'
import { Agent, AgentServer } from '../../lib/agent/index.js'
import { codes, type CioError } from '../../lib/errors.js'
import { encodeFrame } from '../../lib/frame/encoder.js'
import { header, RawReader } from '../helpers/framing.js'
import { testCerts } from '../helpers/certs.js'
import { SECRET } from '../helpers/agents.js'
import { Child } from '../faults/children.js'
import { closedAfter, connectRaw, figure, median, SCALE } from './helpers.js'

const DEADLINE = 400

/** The first bytes of a TLS ClientHello: a record header promising 512 bytes, then a few of them. */
const PARTIAL_CLIENT_HELLO = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), Buffer.alloc(89, 7)])

async function tlsServer(t: Test, options: Record<string, unknown> = {}) {
  const certs = await testCerts()
  const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', key: certs.server.key, cert: certs.server.cert, handshakeTimeout: DEADLINE, noRelisten: true, ...options })
  t.teardown(() => server.close())
  const { port } = await server.ready()
  return { server, port, certs }
}

t.test('pre-auth - stalled TLS handshakes are destroyed at handshakeTimeout from accept', async (t) => {
  const { server, port } = await tlsServer(t)
  const count = 100 * SCALE
  // Measured on the server, from accept to close: what a stalled socket costs it.
  const open: number[] = []
  server.netServer.on('connection', (socket: net.Socket) => {
    const accepted = performance.now()
    socket.once('close', () => open.push(performance.now() - accepted))
  })
  const sockets: net.Socket[] = []
  t.teardown(() => sockets.forEach((socket) => socket.destroy()))
  for (let first = 0; first < count; first += 50) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, count - first) }, async () => {
      const socket = net.connect({ port, host: '127.0.0.1' })
      socket.on('error', () => {})
      await once(socket, 'connect')
      socket.write(PARTIAL_CLIENT_HELLO)
      return socket
    }))))
  }
  await Promise.all(sockets.map((socket) => closedAfter(socket, 0)))
  for (let i = 0; i < 100 && open.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(open.length, count, 'every stalled socket was closed by the server')
  figure(t, `stalled TLS ClientHello (${count} sockets, handshakeTimeout ${DEADLINE} ms): open on the server ${Math.round(Math.min(...open))} / ${Math.round(median(open))} / ${Math.round(Math.max(...open))} ms (min / median / max), from accept to close`)
  t.equal(await new Promise((resolve) => server.netServer.getConnections((_e, n) => resolve(n))), 0, 'nothing left on the server')
})

t.test('pre-auth - the deadline runs from accept: a TLS handshake done late leaves only the rest of it', async (t) => {
  const deadline = 1500
  const { port } = await tlsServer(t, { handshakeTimeout: deadline })
  const started = performance.now()
  const raw = net.connect({ port, host: '127.0.0.1' })
  raw.on('error', () => {})
  await once(raw, 'connect')
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const socket = tls.connect({ socket: raw, rejectUnauthorized: false })
  socket.on('error', () => {})
  await once(socket, 'secureConnect')
  socket.resume()
  const open = await closedAfter(socket, started)
  figure(t, `TLS done after 1000 ms, then silence: closed ${Math.round(open)} ms after connect (handshakeTimeout ${deadline} ms)`)
  t.ok(open < 2300, 'closed on the one deadline (1.5 s), not on a second one started after TLS (2.5 s)')
})

t.test('pre-auth - a TLS server made by cio destroys a socket whose TLS handshake fails or times out', async (t) => {
  const certs = await testCerts()
  const cio = buildCio()
  const server = cio.server({ key: certs.server.key, cert: certs.server.cert, handshakeTimeout: 200 })
  const errors: string[] = []
  server.on('tlsClientError', (error: NodeJS.ErrnoException) => errors.push(error.code ?? '?'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const { port } = server.address() as net.AddressInfo
  const socket = net.connect({ port, host: '127.0.0.1' })
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.write(PARTIAL_CLIENT_HELLO)
  const started = performance.now()
  const open = await closedAfter(socket, started)
  t.same(errors, ['ERR_TLS_HANDSHAKE_TIMEOUT'])
  figure(t, `plain cio TLS server, handshakeTimeout 200 ms: stalled socket closed after ${Math.round(open)} ms`)
})

t.test('pre-auth - frames above maxHandshakeFrameBytes are refused before admission, maxFrameBytes applies after', async (t) => {
  const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', noRelisten: true })
  t.teardown(() => server.close())
  server.onHook('echo', (message) => message)
  const { port } = await server.ready()
  const reports: string[] = []
  server.netServer.on('protocolError', (error: CioError) => reports.push(error.code))
  const socket = await connectRaw(port)
  // The header alone is enough: nothing of the payload is waited for or buffered.
  socket.write(header(4097))
  await closedAfter(socket, 0)
  t.same(reports, [codes.FRAME_TOO_LARGE], 'closed with FRAME_TOO_LARGE on the length prefix')
  const agent = new Agent({ host: `127.0.0.1:${port}`, secret: SECRET })
  t.teardown(() => agent.close())
  await once(agent, 'ready')
  const big = 'x'.repeat(200_000)
  t.equal(await agent.send('echo', big), big, 'an admitted agent sends 200 kB frames')
})

t.test('pre-auth - beyond maxPendingHandshakes new sockets are closed at accept and counted; agents get in once there is room', async (t) => {
  const cap = 20
  const deadline = 3000
  const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', maxPendingHandshakes: cap, handshakeTimeout: deadline, noRelisten: true })
  t.teardown(() => server.close())
  const errors: CioError[] = []
  server.on('error', (error) => errors.push(error))
  const { port } = await server.ready()
  const silent: net.Socket[] = []
  t.teardown(() => silent.forEach((socket) => socket.destroy()))
  const closedEarly: number[] = []
  for (let i = 0; i < cap + 10; i++) {
    const socket = await connectRaw(port)
    silent.push(socket)
    const started = performance.now()
    socket.once('close', () => closedEarly.push(performance.now() - started))
  }
  const [error] = (await once(server, 'error')) as [CioError]
  t.equal(error.code, codes.TOO_MANY_CONNECTIONS)
  t.match(error.details, { dropped: 10, maxPendingHandshakes: cap }, 'one report for the ten sockets dropped')
  t.ok(closedEarly.length >= 10 && closedEarly.slice(0, 10).every((ms) => ms < deadline), 'the ten beyond the cap were closed at once')
  const agent = new Agent({ host: `127.0.0.1:${port}`, secret: SECRET, reconnect: { initialDelay: 50, maxDelay: 100 } })
  t.teardown(() => agent.close())
  const [name] = (await once(agent, 'ready')) as [string]
  t.ok(name, 'a real agent gets in once the silent ones timed out')
  t.same(errors.filter((e) => e.code !== codes.TOO_MANY_CONNECTIONS), [])
})

t.test('pre-auth - a refused connection is not read any further and is closed once its refusal is flushed', async (t) => {
  const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', handshakeTimeout: 10_000, noRelisten: true })
  t.teardown(() => server.close())
  const { port } = await server.ready()
  const socket = await connectRaw(port)
  const reader = new RawReader(socket)
  const started = performance.now()
  // A request before the handshake, then a hundred more in the same write.
  const frames = Array.from({ length: 101 }, (_, i) => encodeFrame({ id: i + 1, action: i === 0 ? 'steal' : 'cio.hello', body: {} }))
  socket.write(Buffer.concat(frames))
  const answer = (await reader.next()) as { id: number; fault: { code: string } }
  const open = await closedAfter(socket, started)
  t.match(answer, { id: 1, fault: { code: codes.NOT_AUTHORIZED } })
  figure(t, `refused connection closed ${Math.round(open)} ms after its request (handshakeTimeout 10 s), 101 requests sent in one write`)
  t.ok(open < 5000, 'closed after the refusal, not at the handshake deadline')
})

t.test('pre-auth - memory held per unauthenticated connection (child process, after gc)', async (t) => {
  const server = new Child('agent-server', { secret: SECRET, quiet: true, heartbeatInterval: 0, handshakeTimeout: 60_000 }, t.teardown.bind(t), ['--expose-gc'])
  const { port } = (await server.wait('listening', 20_000)) as unknown as { port: number }
  const stats = async () => ((await server.ask({ cmd: 'stats' }, 'stats', 20_000)) as unknown as { memory: NodeJS.MemoryUsage }).memory
  const count = 200 * SCALE
  const sockets: net.Socket[] = []
  t.teardown(() => sockets.forEach((socket) => socket.destroy()))
  const open = async (n: number, partial: boolean): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const socket = await connectRaw(port)
      sockets.push(socket)
      // As much of a frame as the pre-auth cap allows, in small pieces, never finished.
      if (partial) for (let k = 0; k < 16; k++) socket.write(k === 0 ? Buffer.concat([header(4096), Buffer.alloc(200, 0x20)]) : Buffer.alloc(250, 0x20))
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  await open(20, true)
  const before = await stats()
  await open(count, true)
  const after = await stats()
  const heap = (after.heapUsed + after.external - before.heapUsed - before.external) / count / 1024
  const rss = (after.rss - before.rss) / count / 1024
  figure(t, `unauthenticated connection holding a 4 KiB-cap partial frame in 16 pieces: ${heap.toFixed(1)} KiB heap + external, ${rss.toFixed(1)} KiB RSS per connection (${count} connections)`)
  t.ok(heap < 64, `bounded by the pre-auth cap, not by maxFrameBytes (${heap.toFixed(1)} KiB)`)
  await server.stop()
})

