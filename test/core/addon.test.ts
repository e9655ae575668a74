import type { Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import buildCio from '../../lib/index.js'
import { testCerts } from '../helpers/certs.js'
import { listenLocal, track } from '../helpers/net.js'
import { next } from '../helpers/agents.js'

// A user's project with a cio 0.5-style addon installed in its node_modules.
const app = fileURLToPath(new URL('../fixtures/addon-app/', import.meta.url))

/** Works from the user's project directory, as `cio.onClient('@scope/addon')` resolves names from there. */
function inApp(t: Test): void {
  const before = process.cwd()
  process.chdir(app)
  t.teardown(() => process.chdir(before))
}

/** The addon's option, named for TypeScript with the options' type argument. */
interface AddonOptions {
  transform?: (text: string) => string
}

const upper = (text: string): string => text.toUpperCase()
const bracket = (text: string): string => `[${text}]`

t.test('addon - a cio 0.5 addon loaded by name transforms every chunk on both ends of a real connection', async (t) => {
  inApp(t)
  const cio = buildCio()
  cio.onServerClient('@scope/addon')
  cio.onClient('@scope/addon')
  const port = await listenLocal(t, cio.server<AddonOptions>({ transform: upper }))
  const client = track(t, cio.client<AddonOptions>({ port, host: '127.0.0.1', transform: bracket }))
  const received: string[] = []
  client.on('transformed', (text: string) => received.push(text))
  client.write('hello')
  await next(client, 'transformed')
  client.write('again')
  await next(client, 'transformed')
  t.same(received, ['[tcp:HELLO]', '[tcp:AGAIN]'])
})

t.test('addon - over TLS the addon reads isSecure from the context', async (t) => {
  inApp(t)
  const certs = await testCerts()
  const cio = buildCio({ root: certs.ca.cert })
  cio.onServerClient('@scope/addon')
  cio.onClient('@scope/addon')
  const port = await listenLocal(t, cio.server<AddonOptions>({ key: certs.server.key, cert: certs.server.cert, transform: upper }))
  const client = track(t, cio.client<AddonOptions>({ port, host: '127.0.0.1', transform: bracket }))
  client.write('secret')
  const [text] = (await next(client, 'transformed')) as [string]
  t.equal(text, '[tls:SECRET]')
})

t.test('addon - without its option the addon does nothing, and cio\'s own chains carry on', async (t) => {
  inApp(t)
  const cio = buildCio()
  cio.onServerClient('@scope/addon', (_control, context) => void (context.serverClient as Socket).end('plain'))
  const port = await listenLocal(t, cio.server())
  const client = track(t, cio.client({ port, host: '127.0.0.1' }))
  const [data] = await next<[Buffer]>(client, 'data')
  t.equal(data.toString(), 'plain')
  t.same(cio.getServerClientChain().array.map((fn) => fn.options?.id), ['cio/authenticate-client', '@scope/addon', undefined])
})
