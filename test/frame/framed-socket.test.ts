import { once } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import t, { type Test } from 'tap'
import buildCio from '../../lib/index.js'
import { codes, type CioError } from '../../lib/errors.js'
import { attachFramed, framedOf, FramedSocket } from '../../lib/frame/framed-socket.js'
import frame from '../../listeners/frame.js'
import { testCerts } from '../helpers/certs.js'
import { closed, HOSTILE_FRAMES, rawConnect, rawFrame } from '../helpers/framing.js'
import { listenLocal, track } from '../helpers/net.js'
import { thrown } from '../helpers/errors.js'

/** A plain net server that frames every connection and echoes every message. */
async function echoServer(t: Test, options: { maxFrameBytes?: number } = {}): Promise<{ server: net.Server; port: number; errors: CioError[] }> {
  const errors: CioError[] = []
  const server = net.createServer((socket) => {
    const framed = attachFramed(socket, options)
    framed.on('message', (value) => framed.send(value))
    framed.on('protocolError', (error) => errors.push(error))
  })
  const port = await listenLocal(t, server)
  return { server, port, errors }
}

async function framedClient(t: Test, port: number): Promise<FramedSocket> {
  const socket = track(t, net.connect({ port, host: '127.0.0.1' }))
  const framed = attachFramed(socket)
  await once(socket, 'connect')
  return framed
}

async function roundTrip(framed: FramedSocket, value: unknown): Promise<unknown> {
  framed.send(value)
  const [echo] = (await once(framed, 'message')) as [unknown]
  return echo
}

t.test('framed socket - values round-trip over a real socket', async (t) => {
  const { port } = await echoServer(t)
  const client = await framedClient(t, port)
  for (const value of [1, 'two', { three: [3, '€', null] }, true, null, 'x'.repeat(200_000)]) {
    t.same(await roundTrip(client, value), value)
  }
})

t.test('framed socket - each hostile input closes that connection with a coded protocolError; others carry on', async (t) => {
  const { port, errors } = await echoServer(t)
  const good = await framedClient(t, port)
  for (const { name, bytes, code } of HOSTILE_FRAMES) {
    const before = errors.length
    const raw = await rawConnect(t, port)
    raw.write(bytes)
    await closed(raw)
    t.equal(errors.length, before + 1, `${name}: one protocolError`)
    t.equal(errors.at(-1)?.code, code, `${name}: ${code}`)
    t.same(await roundTrip(good, { still: name }), { still: name }, `${name}: the good connection still works`)
  }
})

t.test('framed socket - send refuses values with no JSON form, oversize values and closed sockets', async (t) => {
  const { port } = await echoServer(t)
  const client = await framedClient(t, port)
  t.equal(thrown(() => client.send(undefined)).code, codes.INVALID_MESSAGE)
  t.equal(thrown(() => client.send(() => 1)).code, codes.INVALID_MESSAGE)
  const small = attachFramed(track(t, net.connect({ port, host: '127.0.0.1' })), { maxFrameBytes: 10 })
  t.equal(thrown(() => small.send('x'.repeat(10))).code, codes.FRAME_TOO_LARGE)
  t.same(await roundTrip(client, 'after refusals'), 'after refusals', 'nothing was written by the refused sends')
  client.socket.destroy()
  await once(client, 'close')
  t.equal(thrown(() => client.send(1)).code, codes.DISCONNECTED)
})

t.test('framed socket - send returns false when the buffer fills and drained() waits for drain', async (t) => {
  let serverSocket: net.Socket | undefined
  const server = net.createServer((socket) => {
    serverSocket = socket
    socket.pause() // not reading: the client's buffers fill up
  })
  const port = await listenLocal(t, server)
  const client = await framedClient(t, port)
  t.equal(client.socket.writableNeedDrain, false)
  await client.drained()
  t.pass('drained() resolves at once when nothing is queued')
  const chunk = 'x'.repeat(64 * 1024)
  let sends = 0
  while (client.send(chunk)) {
    sends++
    if (sends > 10_000) throw new Error('send never reported a full buffer')
  }
  t.ok(client.socket.writableNeedDrain, `send returned false after ${sends + 1} frames`)
  let drainEvents = 0
  client.on('drain', () => drainEvents++)
  const first = client.drained()
  t.equal(client.drained(), first, 'concurrent waiters share one promise')
  serverSocket?.resume()
  await first
  t.equal(drainEvents, 1, 'the drain event was emitted as well')
  t.equal(client.socket.writableNeedDrain, false)
})

t.test('framed socket - drained() rejects with DISCONNECTED when the socket closes first', async (t) => {
  const server = net.createServer((socket) => socket.pause())
  const port = await listenLocal(t, server)
  const client = await framedClient(t, port)
  for (let i = 0; i < 10_000 && client.send('y'.repeat(64 * 1024)); i++);
  const waiting = client.drained()
  client.socket.destroy()
  await t.rejects(waiting, { code: codes.DISCONNECTED })
  await t.rejects(client.drained(), { code: codes.DISCONNECTED }, 'and at once once closed')
})

t.test('framed socket - close detaches its socket handlers and reports the socket error', async (t) => {
  const server = net.createServer((socket) => socket.resetAndDestroy())
  const port = await listenLocal(t, server)
  const socket = track(t, net.connect({ port, host: '127.0.0.1' }))
  const client = attachFramed(socket)
  const [error] = (await once(client, 'close')) as [Error | undefined]
  t.equal((error as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET', 'the reset reached close, not an uncaught error')
  t.equal(client.closed, true)
  t.equal(socket.listenerCount('data'), 0)
  t.equal(socket.listenerCount('drain'), 0)
  t.equal(socket.listenerCount('close'), 0)
})

t.test('framed socket - attachFramed is idempotent and framedOf finds it', async (t) => {
  const socket = track(t, new net.Socket())
  const framed = attachFramed(socket)
  t.equal(attachFramed(socket, { maxFrameBytes: 5 }), framed)
  t.equal(framedOf(socket), framed)
  t.equal(framedOf(track(t, new net.Socket())), undefined)
  t.equal(framed.closed, false)
  const destroyed = new net.Socket()
  destroyed.destroy()
  t.equal(attachFramed(destroyed).closed, true, 'a destroyed socket is framed as closed')
})

t.test('framed socket - TLS: round trip, and hostile input closes only that connection', async (t) => {
  const certs = await testCerts()
  const errors: CioError[] = []
  const server = tls.createServer({ key: certs.server.key, cert: certs.server.cert }, (socket) => {
    const framed = attachFramed(socket)
    framed.on('message', (value) => framed.send(value))
    framed.on('protocolError', (error) => errors.push(error))
  })
  const port = await listenLocal(t, server)
  const socket = track(t, tls.connect({ port, host: '127.0.0.1', ca: certs.ca.cert, servername: 'localhost' }))
  const good = attachFramed(socket)
  await once(socket, 'secureConnect')
  t.same(await roundTrip(good, { over: 'tls' }), { over: 'tls' })
  const raw = await rawConnect(t, port, { ca: certs.ca.cert, servername: 'localhost' })
  raw.write(rawFrame('not json'))
  await closed(raw)
  t.equal(errors[0]?.code, codes.FRAME_INVALID)
  t.same(await roundTrip(good, 'still here'), 'still here')
})

t.test('cio/frame listener - frames client and server clients; the server reports protocolError(error, socket)', async (t) => {
  for (const secure of [false, true]) {
    const certs = await testCerts()
    const cio = buildCio()
    cio.onServerClient(frame)
    cio.onClient(frame)
    const server = cio.server(secure ? { key: certs.server.key, cert: certs.server.cert, maxFrameBytes: 1024 } : { maxFrameBytes: 1024 })
    server.on(secure ? 'secureConnection' : 'connection', (socket: net.Socket) => {
      const framed = framedOf(socket)
      framed?.on('message', (value) => framed.send({ echo: value }))
    })
    const reported: Array<[CioError, net.Socket]> = []
    server.on('protocolError', (error: CioError, socket: net.Socket) => reported.push([error, socket]))
    const port = await listenLocal(t, server)
    const client = track(t, cio.client({ port, host: '127.0.0.1', ...(secure ? { ca: certs.ca.cert, servername: 'localhost' } : {}) }))
    const framed = framedOf(client)
    if (framed === undefined) throw new Error('cio/frame did not frame the client')
    t.equal(framed.maxFrameBytes, 8 * 1024 * 1024, 'the default cap')
    t.same(await roundTrip(framed, 'hi'), { echo: 'hi' }, `${secure ? 'TLS' : 'TCP'}: messages flow`)
    const raw = await rawConnect(t, port, secure ? { ca: certs.ca.cert, servername: 'localhost' } : false)
    raw.write(Buffer.concat([rawFrame('"ok"'), rawFrame('x'.repeat(1025))]))
    await closed(raw)
    t.equal(reported.length, 1, 'one report on the server')
    t.equal(reported[0]?.[0].code, codes.FRAME_TOO_LARGE, 'the server option maxFrameBytes applied')
    t.ok(reported[0]?.[1] instanceof net.Socket, 'with the socket')
    t.same(await roundTrip(framed, 'again'), { echo: 'again' })
  }
})
