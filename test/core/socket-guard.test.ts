import { once } from 'node:events'
import net from 'node:net'
import t from 'tap'
import { codes, type CioError } from '../../lib/errors.js'
import { attachFramed } from '../../lib/frame/framed-socket.js'
import { guardSocket, serverOfSocket } from '../../lib/core/socket-guard.js'
import { listenLocal, track } from '../helpers/net.js'

t.test('socket guard - one error listener however many layers ask; the server can be named later', async (t) => {
  const server = net.createServer()
  const port = await listenLocal(t, server)
  const socket = track(t, net.connect({ port, host: '127.0.0.1' }))
  guardSocket(socket)
  guardSocket(socket)
  attachFramed(socket)
  t.equal(socket.listenerCount('error'), 1)
  t.equal(serverOfSocket(socket), undefined, 'a client socket has no server')
  guardSocket(socket, server)
  t.equal(serverOfSocket(socket), server)
  t.equal(socket.listenerCount('error'), 1)
  await once(socket, 'connect')
})

t.test('socket guard - a reset framed server client: the framed close carries the error, the server reports it once', async (t) => {
  const server = net.createServer()
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const port = await listenLocal(t, server)
  const client = track(t, net.connect({ port, host: '127.0.0.1' }))
  const [socket] = await accepted
  guardSocket(socket, server)
  const framed = attachFramed(socket)
  const reported: Error[] = []
  server.on('serverClientError', (error: Error, from: net.Socket) => {
    t.equal(from, socket)
    reported.push(error)
  })
  const closing = once(framed, 'close') as Promise<[Error | undefined]>
  client.resetAndDestroy()
  const [error] = await closing
  t.equal((error as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET')
  t.equal(reported.length, 1)
  t.equal(reported[0], error)
})

t.test('socket guard - a protocol error of a framed server client is also its server\'s protocolError', async (t) => {
  const server = net.createServer((socket) => {
    guardSocket(socket, server)
    attachFramed(socket, { maxFrameBytes: 16 })
  })
  const port = await listenLocal(t, server)
  const reported = once(server, 'protocolError') as Promise<[CioError, net.Socket]>
  const client = track(t, net.connect({ port, host: '127.0.0.1' }))
  client.on('error', () => {})
  client.write(Buffer.from([0, 0, 1, 0]))
  const [error, socket] = await reported
  t.equal(error.code, codes.FRAME_TOO_LARGE)
  t.ok(socket instanceof net.Socket)
})
