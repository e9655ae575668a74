import { once } from 'node:events'
import type { Socket } from 'node:net'
import tls from 'node:tls'
import t, { type Test } from 'tap'
import buildCio from '../../lib/index.js'
import { testCerts } from '../helpers/certs.js'
import { generateCerts } from '../../lib/tls/certs.js'
import { listenLocal, track } from '../helpers/net.js'

async function mutualServer(t: Test, extra: Record<string, unknown>) {
  const certs = await testCerts()
  const cio = buildCio({ root: certs.ca.cert })
  const served: string[] = []
  cio.onServerClient((_control, context) => {
    served.push(String((context.serverClient as tls.TLSSocket).getPeerCertificate().subject?.CN))
    context.serverClient.end('welcome')
  })
  const server = cio.server({ private: certs.server.key, public: certs.server.cert, requestCert: true, rejectUnauthorized: false, ...extra })
  const port = await listenLocal(t, server)
  const connect = (name?: 'alice' | 'bob' | 'mallory'): tls.TLSSocket => {
    const pair = name === undefined ? {} : { key: certs.clients[name]!.key, cert: certs.clients[name]!.cert }
    return track(t, cio.client({ port, host: '127.0.0.1', ...pair }) as tls.TLSSocket)
  }
  return { server, served, connect }
}

async function outcome(socket: tls.TLSSocket): Promise<string> {
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.on('error', () => {})
  await once(socket, 'close')
  return Buffer.concat(chunks).toString()
}

t.test('authenticate-client - allowed names are served, others closed with clientRejected', async (t) => {
  const asked: Array<[string | undefined, string | undefined]> = []
  const { server, served, connect } = await mutualServer(t, {
    isClientAllowed(name: string | undefined, certificate: tls.PeerCertificate | undefined) {
      asked.push([name, certificate?.subjectaltname])
      return name === 'alice'
    },
  })
  const rejected: Array<string | undefined> = []
  server.on('clientRejected', (name: string | undefined) => rejected.push(name))
  t.equal(await outcome(connect('alice')), 'welcome')
  t.equal(await outcome(connect('mallory')), '', 'closed without being served')
  t.same(rejected, ['mallory'])
  t.same(served, ['alice'], 'later listeners did not run for the rejected client')
  t.same(asked, [['alice', 'DNS:alice'], ['mallory', 'DNS:mallory']], 'name and the certificate with its alt names')
})

t.test('authenticate-client - rejectClient takes over the rejection', async (t) => {
  const { server, served, connect } = await mutualServer(t, {
    isClientAllowed: () => false,
    rejectClient(socket: Socket, name: string | undefined) {
      socket.end(`sorry ${name}`)
    },
  })
  server.on('clientRejected', () => t.fail('rejectClient handles it'))
  t.equal(await outcome(connect('bob')), 'sorry bob')
  t.same(served, [])
})

t.test('authenticate-client - a certificate with an allowed name from another CA is refused without asking', async (t) => {
  const asked: unknown[] = []
  const { server, served, connect } = await mutualServer(t, {
    isClientAllowed(name: string | undefined) {
      asked.push(name)
      return name === 'alice'
    },
  })
  // Anyone can make a CA and sign "alice" with it; rejectUnauthorized: false lets the TLS handshake pass.
  const forged = (await generateCerts({ clients: ['alice'] })).clients.alice!
  const { port } = server.address() as { port: number }
  const socket = track(t, tls.connect({ port, host: '127.0.0.1', key: forged.key, cert: forged.cert, rejectUnauthorized: false }))
  const [name] = await Promise.all([once(server, 'clientRejected').then(([n]) => n as unknown), outcome(socket)])
  t.equal(name, 'alice', 'rejected, under the name it claimed')
  t.same(asked, [], 'the allow-list was never asked about an unverified certificate')
  t.same(served, [])
  t.equal(await outcome(connect('alice')), 'welcome', 'the real alice still gets in')
})

t.test('authenticate-client - a client without a certificate is handled, not a crash', async (t) => {
  const asked: unknown[] = []
  const { server, connect } = await mutualServer(t, {
    isClientAllowed(name: string | undefined, certificate: unknown) {
      asked.push(name, certificate)
      return false
    },
  })
  const [name] = await Promise.all([once(server, 'clientRejected').then(([n]) => n as unknown), outcome(connect())])
  t.equal(name, undefined)
  t.same(asked, [], 'unverified (no certificate): refused without asking')
})

t.test('authenticate-client - a handler that returns nothing rejects (safe default)', async (t) => {
  const { connect } = await mutualServer(t, { isClientAllowed: () => undefined })
  t.equal(await outcome(connect('alice')), '')
})

t.test('authenticate-client - a throwing isClientAllowed closes that client with serverClientError', async (t) => {
  const { server, connect } = await mutualServer(t, {
    isClientAllowed: () => {
      throw new Error('allow-list unavailable')
    },
  })
  const [[error]] = await Promise.all([once(server, 'serverClientError'), outcome(connect('alice'))])
  t.match((error as Error).message, /allow-list unavailable/)
  t.equal((error as { code?: string }).code, 'CHAIN_FAILED')
})

t.test('authenticate-client - plain servers with an allow-list refuse every client (nothing is verified)', async (t) => {
  const cio = buildCio()
  const asked: unknown[] = []
  const server = cio.server({ isClientAllowed: (...args: unknown[]) => (asked.push(...args), true) })
  const rejected = once(server, 'clientRejected')
  const port = await listenLocal(t, server)
  const client = track(t, cio.client({ port, host: '127.0.0.1' }))
  client.resume()
  await Promise.all([once(client, 'close'), rejected])
  t.same(asked, [])
})
