import net from 'node:net'
import tls from 'node:tls'
import t from 'tap'
import buildCio, { codes } from '../../lib/index.js'
import { testCerts } from '../helpers/certs.js'
import { listenLocal, track } from '../helpers/net.js'
import { next } from '../helpers/agents.js'

t.test('create-server - onConnect gets every accepted socket, with this = the server (cio 0.5)', async (t) => {
  const cio = buildCio()
  const seen: Array<{ self: unknown; socket: net.Socket }> = []
  const server = cio.server({
    onConnect(this: unknown, socket: net.Socket) {
      seen.push({ self: this, socket })
      socket.end('hi from onConnect')
    },
  })
  const port = await listenLocal(t, server)
  const client = track(t, cio.client({ port, host: '127.0.0.1' }))
  const [data] = await next<[Buffer]>(client, 'data')
  t.equal(data.toString(), 'hi from onConnect')
  t.equal(seen.length, 1)
  t.equal(seen[0]?.self, server)
  t.ok(seen[0]?.socket instanceof net.Socket)
})

t.test('create-server - with TLS, onConnect runs at TCP accept and onSecureConnect after the handshake', async (t) => {
  const certs = await testCerts()
  const cio = buildCio({ root: certs.ca.cert })
  const events: string[] = []
  const server = cio.server({
    key: certs.server.key,
    cert: certs.server.cert,
    onConnect: (socket: net.Socket) => void events.push(`connect:${socket instanceof tls.TLSSocket}`),
    onSecureConnect(socket: tls.TLSSocket) {
      events.push(`secure:${socket.encrypted}`)
      socket.end('over TLS')
    },
  })
  const port = await listenLocal(t, server)
  const client = track(t, cio.client({ port, host: '127.0.0.1' }))
  const [data] = await next<[Buffer]>(client, 'data')
  t.equal(data.toString(), 'over TLS')
  t.same(events, ['connect:false', 'secure:true'])
})

t.test('create-server - onConnect or onSecureConnect that is not a function is INVALID_OPTION, for servers and clients', async (t) => {
  const cio = buildCio()
  t.throws(() => cio.server({ onConnect: 'log' as never }), { code: codes.INVALID_OPTION, message: /"onConnect" option must be a function/, details: { option: 'onConnect' } })
  t.throws(() => cio.client({ port: 1, onSecureConnect: null as never }), { code: codes.INVALID_OPTION, message: /"onSecureConnect".*got null/ })
})
