import type { Socket } from 'node:net'
import t from 'tap'
import buildCio, { type ClientContext, type ServerClientContext } from '../../lib/index.js'
import { testCerts } from '../helpers/certs.js'
import { listenLocal, track } from '../helpers/net.js'
import { next } from '../helpers/agents.js'

/** Options of listeners of other packages, named for TypeScript with the options' type argument. */
interface Extra {
  greeting?: string
  eventor?: boolean
  transform?: string
}

t.test('context - listeners read options from the context itself, as in cio 0.5, and from context.options', async (t) => {
  const cio = buildCio<Extra>({ greeting: 'hello' })
  const seen: unknown[] = []
  cio.onServerClient(function (this: ServerClientContext & Extra, _control, context: ServerClientContext & Extra) {
    seen.push(this.greeting, context.eventor, (context.options as Extra).eventor, this.isSecure, this.secure)
    this.greeting = 'changed on the context'
    ;(this.serverClient as Socket).end(`${context.greeting}`)
  })
  const server = cio.server<Extra>({ eventor: true })
  const port = await listenLocal(t, server)
  const client = track(t, cio.client({ port, host: '127.0.0.1' }))
  const [data] = await next<[Buffer]>(client, 'data')
  t.same(seen, ['hello', true, true, false, false])
  t.equal(data.toString(), 'changed on the context')
  t.equal((cio.options as Extra).greeting, 'hello', 'writing to the context leaves the options alone')
})

t.test('context - isSecure says TLS in the server, client and server-client chains', async (t) => {
  const certs = await testCerts()
  const cio = buildCio({ root: certs.ca.cert })
  const seen: string[] = []
  cio.onServer((_control, context) => void seen.push(`server:${String(context.isSecure)}`))
  cio.onClient((_control, context: ClientContext & Extra) => void seen.push(`client:${String(context.isSecure)}:${String(context.transform)}:${String(context.rejectUnauthorized)}`))
  cio.onServerClient((_control, context) => {
    seen.push(`serverClient:${String(context.isSecure)}`)
    context.serverClient.end('ok')
  })
  const port = await listenLocal(t, cio.server({ key: certs.server.key, cert: certs.server.cert }))
  const client = track(t, cio.client<Extra>({ port, host: '127.0.0.1', transform: 'upper', rejectUnauthorized: true }))
  await next(client, 'data')
  t.same(seen.sort(), ['client:true:upper:true', 'server:true', 'serverClient:true'], 'cio\'s own options are typed on the context')
})

t.test('context - the context\'s own fields win over options of the same name', async (t) => {
  const cio = buildCio()
  let server: unknown
  cio.onServer((_control, context) => { server = context.server })
  const made = cio.server<{ server: string }>({ server: 'an option called server' })
  t.equal(server, made)
})
