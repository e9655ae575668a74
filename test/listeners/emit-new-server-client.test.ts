import { once } from 'node:events'
import net from 'node:net'
import t from 'tap'
import buildCio, { type ChainError } from '../../lib/index.js'
import { listenLocal, track } from '../helpers/net.js'

t.test('emit-new-server-client - each connection runs the chain with a fresh context', async (t) => {
  const cio = buildCio()
  const contexts: object[] = []
  cio.onServerClient((_control, context) => {
    contexts.push(context)
    context.serverClient.end()
  })
  const port = await listenLocal(t, cio.server())
  for (let i = 0; i < 3; i++) await once(track(t, cio.client({ port, host: '127.0.0.1' })), 'close')
  t.equal(contexts.length, 3)
  t.equal(new Set(contexts).size, 3)
})

t.test('emit-new-server-client - a client reset never crashes the server; the error is passed on', async (t) => {
  const cio = buildCio()
  const server = cio.server()
  cio.onServerClient((_control, context) => {
    context.serverClient.write('x'.repeat(1 << 20))
  })
  const errors: NodeJS.ErrnoException[] = []
  server.on('serverClientError', (error: Error) => errors.push(error))
  const port = await listenLocal(t, server)
  const rude = track(t, net.connect(port, '127.0.0.1'))
  await once(rude, 'data')
  rude.resetAndDestroy()
  const [error] = (await once(server, 'serverClientError')) as [NodeJS.ErrnoException]
  t.match(error.code, /ECONNRESET|EPIPE/)
  const polite = track(t, cio.client({ port, host: '127.0.0.1' }))
  await once(polite, 'data')
  t.pass('the next client is served')
})

t.test('emit-new-server-client - a failing server-client chain closes only that client', async (t) => {
  const cio = buildCio()
  let count = 0
  cio.onServerClient((control, context) => {
    if (++count === 1) return control.fail('first one refused')
    context.serverClient.end('ok')
  })
  const server = cio.server()
  const port = await listenLocal(t, server)
  const first = track(t, cio.client({ port, host: '127.0.0.1' }))
  const [error] = (await once(server, 'serverClientError')) as [ChainError]
  t.equal(error.code, 'CHAIN_FAILED')
  t.match(error.message, /server-client chain failed: first one refused/)
  await once(first, 'close')
  const second = track(t, cio.client({ port, host: '127.0.0.1' }))
  const [data] = (await once(second, 'data')) as [Buffer]
  t.equal(data.toString(), 'ok')
})
