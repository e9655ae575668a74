import { once } from 'node:events'
import net from 'node:net'
import t from 'tap'
import buildCio, { ChainError, codes, type Listener, type ServerClientContext, type ServerContext, type ClientContext } from '../../lib/index.js'
import rpcListeners from '../../listeners/rpc.js'
import { thrown } from '../helpers/errors.js'
import { listenLocal, track } from '../helpers/net.js'

t.test('builder - a plain server and client exchange a message', async (t) => {
  const cio = buildCio()
  const server = cio.server()
  t.ok(server instanceof net.Server, 'a net.Server')
  t.equal(server.listening, false, 'not listening yet')
  server.on('connection', (socket: net.Socket) => socket.end('hello'))
  const port = await listenLocal(t, server)
  const client = track(t, cio.client({ port, host: '127.0.0.1' }))
  t.ok(client instanceof net.Socket)
  const [data] = (await once(client, 'data')) as [Buffer]
  t.equal(data.toString(), 'hello')
})

/** Options of the test's own listeners, named the way a user names an addon's options. */
interface TestOptions {
  greeting?: string
  marker?: number
  a?: number
  b?: number
}

t.test('builder - server-client listeners see serverClient, server, options and cio', async (t) => {
  const cio = buildCio<TestOptions>({ greeting: 'hi' })
  const seen: ServerClientContext[] = []
  cio.onServerClient(function (_control, context) {
    seen.push(context)
    context.serverClient.end(String((context.options as TestOptions).greeting))
  })
  const server = cio.server<TestOptions>({ marker: 1 })
  const port = await listenLocal(t, server)
  const client = track(t, cio.client({ port, host: '127.0.0.1' }))
  const [data] = (await once(client, 'data')) as [Buffer]
  t.equal(data.toString(), 'hi')
  t.equal(seen.length, 1)
  const context = seen[0]!
  t.equal(context.cio, cio)
  t.equal(context.server, server)
  t.ok(context.serverClient instanceof net.Socket)
  t.equal((context.options as TestOptions).marker, 1, 'sees the server options')
  t.equal(context.secure, false)
})

t.test('builder - module options are defaults beneath call options', async (t) => {
  const cio = buildCio<TestOptions>({ a: 1, b: 1 })
  let options: TestOptions = {}
  cio.onServer((_control, context) => {
    options = context.options as TestOptions
  })
  cio.server<TestOptions>({ b: 2 })
  t.equal(options.a, 1)
  t.equal(options.b, 2)
  t.equal((cio.options as TestOptions).b, 1, 'module options untouched')
  t.ok(Object.isFrozen(cio.options))
})

t.test('builder - chains are built once and keep their listeners across calls', async (t) => {
  const cio = buildCio()
  t.equal(cio.getServerChain(), cio.getServerChain())
  t.equal(cio.getClientChain(), cio.getClientChain())
  t.equal(cio.getServerClientChain(), cio.getServerClientChain())
  let runs = 0
  cio.onServer(() => {
    runs++
  })
  cio.server()
  cio.server()
  t.equal(runs, 2)
  t.notOk(cio.getServerChain() === buildCio().getServerChain(), 'instances do not share chains')
})

t.test('builder - on* methods chain and accept arrays and several arguments', async (t) => {
  const cio = buildCio()
  const calls: string[] = []
  const a: Listener<ServerContext> = () => void calls.push('a')
  const b: Listener<ServerContext> = () => void calls.push('b')
  const c: Listener<ServerContext> = () => void calls.push('c')
  Object.assign(a, { options: { id: 'a' } })
  Object.assign(b, { options: { id: 'b' } })
  Object.assign(c, { options: { id: 'c' } })
  t.equal(cio.onServer(a, [b, [c]]), cio)
  cio.server()
  t.same(calls, ['a', 'b', 'c'])
})

t.test('builder - user listeners are ordered by before/after around core ids', async (t) => {
  const cio = buildCio()
  const seen: Array<string | undefined> = []
  const early: Listener<ServerContext> = (_control, context) => void seen.push(context.server === undefined ? 'no server yet' : 'server')
  early.options = { id: 'early', before: ['cio/createServer'] }
  const late: Listener<ServerContext> = (_control, context) => void seen.push(context.server === undefined ? 'no server yet' : 'server')
  late.options = { id: 'late' }
  cio.onServer(late, early)
  cio.server()
  t.same(seen, ['no server yet', 'server'])
})

t.test('builder - an ordering cycle fails the run with a coded error naming the cycle', async (t) => {
  const cio = buildCio()
  const x: Listener<ServerContext> = () => {}
  x.options = { id: 'x', before: ['y'] }
  const y: Listener<ServerContext> = () => {}
  y.options = { id: 'y', before: ['x'] }
  cio.onServer(x, y)
  const error = thrown<ChainError>(() => cio.server())
  t.equal(error.code, codes.CHAIN_FAILED)
  t.ok(error instanceof ChainError)
  t.match(error.message, /could not be ordered/)
  t.match(error.message, /x/)
  t.match(error.message, /y/)
  t.equal(error.result.result, false)
  t.equal((error.result.failed?.error as { code?: string }).code, codes.ORDER_CYCLE)
})

t.test('builder - a throwing listener makes server() and client() throw CHAIN_FAILED with the result', async (t) => {
  const cio = buildCio()
  const boom = new Error('listener exploded')
  cio.onServer(() => {
    throw boom
  })
  const error = thrown<ChainError>(() => cio.server())
  t.equal(error.code, codes.CHAIN_FAILED)
  t.match(error.message, /listener exploded/)
  t.equal(error.cause, boom)
  t.equal(error.result.failed?.error, boom)

  let opened: net.Socket | undefined
  cio.onClient((_control, context) => {
    opened = context.client
  })
  cio.onClient((control) => control.fail('refused by test'))
  const clientError = thrown<ChainError>(() => cio.client({ port: 1, host: '127.0.0.1' }))
  t.equal(clientError.code, codes.CHAIN_FAILED)
  t.match(clientError.message, /refused by test/)
  t.equal(opened?.destroyed, true, 'a client made before the failure is destroyed')
})

t.test('builder - disabling createServer leaves no server and says so', async (t) => {
  const cio = buildCio()
  cio.getServerChain().disable('cio/createServer', 'test')
  const error = thrown<ChainError>(() => cio.server())
  t.equal(error.code, codes.CHAIN_FAILED)
  t.match(error.message, /no listener made a server/)
  t.ok(buildCio().server() instanceof net.Server, 'other instances are not affected')
  const client = buildCio()
  client.getClientChain().remove('cio/createClient')
  t.throws(() => client.client({ port: 1 }), { code: codes.CHAIN_FAILED, message: /no listener made a client/ })
})

t.test('builder - bad arguments throw coded errors that say which and why', async (t) => {
  t.throws(() => buildCio(42 as never), { code: codes.INVALID_ARGUMENT, message: /buildCio\(\) takes an options object, got number/ })
  t.throws(() => buildCio([] as never), { code: codes.INVALID_ARGUMENT, message: /got an array/ })
  const cio = buildCio()
  t.throws(() => cio.server(null as never), { code: codes.INVALID_ARGUMENT, message: /server\(\) takes an options object, got null/ })
  t.throws(() => cio.onServer(), { code: codes.INVALID_ARGUMENT, message: /onServer\(\) needs at least one listener/ })
  t.throws(() => cio.onClient(() => {}, 5 as never), { code: codes.INVALID_ARGUMENT, message: /onClient\(\) argument 2 is number/ })
  t.throws(() => cio.onServerClient([() => {}, [null as never]]), { code: codes.INVALID_ARGUMENT, message: /argument 1\[1\]\[0\] is null/ })
})

t.test('builder - listener modules load by name from the working directory', async (t) => {
  const cio = buildCio()
  cio.onServer('./test/fixtures/tag-listener.mjs')
  let tagged: unknown
  cio.onServer((_control, context) => {
    tagged = (context as ServerContext & { tagged?: number }).tagged
  })
  cio.server()
  t.equal(tagged, 1)

  const order: unknown[] = []
  cio.onClient('./test/fixtures/listener-list.cjs', (_control, context: ClientContext & { order?: string[] }) => {
    order.push(...(context.order ?? []))
    context.client?.destroy()
  })
  const socket = cio.client({ port: 1, host: '127.0.0.1' })
  socket.on('error', () => {})
  t.same(order, ['first', 'second'], 'array modules are ordered too')
})

t.test('builder - built-in listeners can be named by id', async (t) => {
  const cio = buildCio()
  cio.getServerChain().remove('cio/relistener')
  cio.onServer('cio/relistener')
  const ids = cio.getServerChain().array.map((fn) => fn.options?.id)
  t.ok(ids.includes('cio/relistener'))
})

t.test('builder - bad listener modules throw MODULE_LOAD naming the module', async (t) => {
  const cio = buildCio()
  t.throws(() => cio.onServer('./test/fixtures/does-not-exist.mjs'), { code: codes.MODULE_LOAD, message: /Cannot find the listener module "\.\/test\/fixtures\/does-not-exist\.mjs"/ })
  t.throws(() => cio.onServer('./test/fixtures/throws-on-load.mjs'), { code: codes.MODULE_LOAD, message: /failed to load: this module refuses to load/ })
  t.throws(() => cio.onServer('./test/fixtures/not-a-listener.mjs'), { code: codes.MODULE_LOAD, message: /exports number, not a listener/ })
})

t.test('builder - listeners check their options at cio.server()/cio.client(), not at each connection', async (t) => {
  const cio = buildCio()
  cio.onServerClient(rpcListeners)
  cio.onClient(rpcListeners)
  for (const [options, option] of [[{ callTimeout: 0 }, 'callTimeout'], [{ maxPendingCalls: 1.5 }, 'maxPendingCalls'], [{ maxFrameBytes: -1 }, 'maxFrameBytes']] as const) {
    t.throws(() => cio.server(options), { code: codes.INVALID_OPTION, details: { option } }, `server: ${option}`)
    t.throws(() => cio.client({ port: 9, host: '127.0.0.1', ...options }), { code: codes.INVALID_OPTION, details: { option } }, `client: ${option}`)
  }
  const server = cio.server({ callTimeout: 5 })
  t.ok(server, 'good options make a server')
  // A disabled listener's options are not its concern.
  const quiet = buildCio().onServerClient(rpcListeners)
  quiet.getServerClientChain().disable('cio/rpc')
  quiet.getServerClientChain().disable('cio/frame')
  t.ok(quiet.server({ callTimeout: 0 }), 'a disabled listener is not asked')
})

t.test('builder - disabling a core listener in one cio instance leaves the others alone (why fn.options.disabled is never written)', async (t) => {
  const quiet = buildCio()
  const other = buildCio()
  quiet.getServerChain().disable('cio/relistener', 'this app handles EADDRINUSE itself')
  const relistener = quiet.getServerChain().array.find((fn) => fn.options?.id === 'cio/relistener')
  t.equal(relistener, other.getServerChain().array.find((fn) => fn.options?.id === 'cio/relistener'), 'one function in both')
  t.equal(relistener?.options?.disabled, undefined)
  t.equal(quiet.server().emit, net.Server.prototype.emit, 'not retrying here')
  t.not(other.server().emit, net.Server.prototype.emit, 'still retrying there')
})
