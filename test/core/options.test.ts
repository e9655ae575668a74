/**
 * CioOptions is typed once, from the listeners that read each option: a
 * misspelt or mistyped option is a compile error (checked by `tsc --noEmit`
 * over the tests), options of other listeners are named with a type
 * argument, and the values reach the listeners as given.
 */
import t from 'tap'
import buildCio, { type Cio, type CioOptions } from '../../lib/index.js'

// Never called: these lines are checked by the compiler only.
function typeChecks(cio: Cio): void {
  cio.server({ callTimeout: 5, maxFrameBytes: 1024, noDelay: false, maxPendingCalls: 2, retryDelay: 10, allowHalfOpen: true })
  cio.client({ host: '127.0.0.1', port: 1, servername: 'x', rejectUnauthorized: true, timeout: 1000 })
  // @ts-expect-error a misspelt option
  cio.server({ callTimout: 5 })
  // @ts-expect-error a value of the wrong type
  cio.client({ maxFrameBytes: '1 MiB' })
  // @ts-expect-error an option no listener declares needs the type argument
  cio.server({ transform: (chunk: Buffer) => chunk })
  cio.server<{ transform: (chunk: Buffer) => Buffer }>({ transform: (chunk) => chunk })
  // @ts-expect-error the type argument names options; it does not widen them
  buildCio<{ level: number }>({ level: 'high' })
}
void typeChecks

t.test('options - listeners read the typed options as given, extra ones included', async (t) => {
  const cio = buildCio<{ level: number }>({ level: 3, callTimeout: 1234 })
  let seen: CioOptions | undefined
  cio.onServer((_control, context) => {
    seen = context.options
  })
  const server = cio.server({ maxFrameBytes: 4096 })
  t.teardown(() => server.close())
  t.equal(seen?.callTimeout, 1234)
  t.equal(seen?.maxFrameBytes, 4096)
  t.equal((seen as CioOptions & { level?: number }).level, 3)
})

t.test('options - the owner given to cio.server() and cio.client() is the chains\' context.owner', async (t) => {
  const cio = buildCio()
  const owner = { name: 'a layer' }
  const owners: Array<object | undefined> = []
  cio.onServer((_control, context) => void owners.push(context.owner))
  cio.onServerClient((_control, context) => void owners.push(context.owner))
  cio.onClient((_control, context) => void owners.push(context.owner))
  const server = cio.server({}, owner)
  t.teardown(() => server.close())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  const accepted = new Promise((resolve) => server.once('connection', resolve))
  const client = cio.client({ host: '127.0.0.1', port })
  t.teardown(() => client.destroy())
  await accepted
  await new Promise((resolve) => setImmediate(resolve))
  t.same(owners, [owner, undefined, owner], 'server, client (none given), then the accepted connection')
})
