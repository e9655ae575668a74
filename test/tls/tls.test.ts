import { once } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import t, { type Test } from "tap"
import buildCio, { wantsTls } from '../../lib/internal.js'
import { testCerts } from '../helpers/certs.js'
import { listenLocal, track } from '../helpers/net.js'

async function exchange(t: Test, serverOptions: Record<string, unknown>, clientOptions: Record<string, unknown>): Promise<{ server: net.Server; client: net.Socket; data: string }> {
  const cio = buildCio()
  const server = cio.server(serverOptions)
  server.on('secureConnection', (socket: tls.TLSSocket) => socket.end('secret hello'))
  const port = await listenLocal(t, server)
  const client = track(t, cio.client({ port, host: '127.0.0.1', ...clientOptions }))
  const [data] = (await once(client, 'data')) as [Buffer]
  return { server, client, data: data.toString() }
}

t.test('tls - standard names key/cert/ca make a TLS server and client', async (t) => {
  const certs = await testCerts()
  const { server, client, data } = await exchange(t, { key: certs.server.key, cert: certs.server.cert }, { ca: certs.ca.cert, servername: 'localhost' })
  t.ok(server instanceof tls.Server)
  t.ok(client instanceof tls.TLSSocket)
  t.equal((client as tls.TLSSocket).authorized, true)
  t.equal(data, 'secret hello')
})

t.test('tls - aliases private/public/root work as key/cert/ca', async (t) => {
  const certs = await testCerts()
  const { server, client, data } = await exchange(t, { private: certs.server.key, public: certs.server.cert }, { root: [certs.ca.cert] })
  t.ok(server instanceof tls.Server)
  t.equal((client as tls.TLSSocket).authorized, true)
  t.equal(data, 'secret hello')
})

t.test('tls - onConnect and onSecureConnect are attached for the user', async (t) => {
  const certs = await testCerts()
  const cio = buildCio({ root: certs.ca.cert })
  const server = cio.server({ private: certs.server.key, public: certs.server.cert })
  const port = await listenLocal(t, server)
  const events: string[] = []
  const client = track(t, cio.client({
    port,
    host: '127.0.0.1',
    onConnect(socket) {
      t.equal(socket, client)
      events.push('connect')
    },
    onSecureConnect(socket) {
      t.equal(this, socket)
      events.push('secureConnect')
    },
  }))
  await once(client, 'secureConnect')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(events, ['connect', 'secureConnect'])
})

t.test('tls - onConnect fires for plain clients too', async (t) => {
  const cio = buildCio()
  const port = await listenLocal(t, cio.server())
  let connected = false
  const client = track(t, cio.client({ port, host: '127.0.0.1', onConnect: () => (connected = true), onSecureConnect: () => t.fail('not TLS') }))
  await once(client, 'connect')
  t.equal(connected, true)
})

t.test('tls - detection from options, and secure forcing either way', async (t) => {
  t.equal(wantsTls({}), false)
  t.equal(wantsTls({ key: 'k' }), true)
  t.equal(wantsTls({ cert: 'c' }), true)
  t.equal(wantsTls({ ca: 'c' }), true)
  t.equal(wantsTls({ pfx: 'p' }), true)
  t.equal(wantsTls({ rejectUnauthorized: true }), true)
  t.equal(wantsTls({ rejectUnauthorized: false }), false)
  t.equal(wantsTls({ requestCert: true }), true)
  t.equal(wantsTls({ secure: true }), true)
  t.equal(wantsTls({ key: 'k', secure: false }), false)
  const certs = await testCerts()
  const cio = buildCio()
  t.ok(cio.server({ key: certs.server.key, cert: certs.server.cert, secure: false }) instanceof tls.Server === false, 'secure: false forces net')
  t.ok(cio.server({ secure: true, key: certs.server.key, cert: certs.server.cert }) instanceof tls.Server)
})

t.test('tls - a client with the wrong CA is refused by the handshake', async (t) => {
  const certs = await testCerts()
  const other = await (await import('../../lib/tls/certs.js')).generateCerts()
  const cio = buildCio()
  const server = cio.server({ key: certs.server.key, cert: certs.server.cert })
  server.on('tlsClientError', () => {})
  const port = await listenLocal(t, server)
  const client = track(t, cio.client({ port, host: '127.0.0.1', ca: other.ca.cert }))
  const [error] = (await once(client, 'error')) as [NodeJS.ErrnoException]
  t.match(error.code, /UNABLE_TO_VERIFY|SELF_SIGNED|CERT/)
})
