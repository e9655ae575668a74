import net from 'node:net'
import t from 'tap'
import buildCio from '../../../lib/index.js'
import { Agent } from '../../../lib/agent/client/agent.js'
import { MemoryStore } from '../../../lib/agent/store.js'
import { codes, type CioError } from '../../../lib/errors.js'
import { cioRejection, rejection } from '../../helpers/framing.js'
import { thrown } from '../../helpers/errors.js'
import { testCerts } from '../../helpers/certs.js'
import { generateCerts } from '../../../lib/tls/certs.js'
import { listenLocal } from '../../helpers/net.js'
import { agentOptions, gate, makeAgent, next, pause, readyAgent, SECRET, startServer, TRANSPORTS } from '../../helpers/agents.js'

t.test('agent - options are checked at once, with a coded error naming the option', async (t) => {
  const certs = await testCerts()
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['no host', { secret: SECRET }, codes.INVALID_OPTION, /"host" option is required/],
    ['a bad host', { host: 'ftp://x:1', secret: SECRET }, codes.INVALID_OPTION, /"host"/],
    ['no secret', { host: 'localhost:1' }, codes.INVALID_OPTION, /"secret"/],
    ['tcp:// with a CA', { host: 'tcp://localhost:1', secret: SECRET, ca: certs.ca.cert }, codes.INVALID_OPTION, /plain TCP/],
    ['a bad reconnect', { host: 'localhost:1', secret: SECRET, reconnect: 5 }, codes.INVALID_OPTION, /"reconnect"/],
    ['a bad backoff', { host: 'localhost:1', secret: SECRET, reconnect: { maxDelay: -1 } }, codes.INVALID_OPTION, /reconnect\.maxDelay/],
    ['a bad timeout', { host: 'localhost:1', secret: SECRET, timeout: 'soon' }, codes.INVALID_OPTION, /"timeout"/],
    ['a bad handshake timeout', { host: 'localhost:1', secret: SECRET, handshakeTimeout: 0 }, codes.INVALID_OPTION, /"handshakeTimeout"/],
    ['a misspelt option', { host: 'localhost:1', secret: SECRET, dataStor: {} }, codes.INVALID_OPTION, /no "dataStor" option/],
    ['a bad store', { host: 'localhost:1', secret: SECRET, dataStore: { save: 1 } }, codes.INVALID_OPTION, /"dataStore"/],
    ['a bad cio', { host: 'localhost:1', secret: SECRET, cio: 5 }, codes.INVALID_OPTION, /"cio"/],
    ['a missing CA file', { host: 'tls://localhost:1', secret: SECRET, ca: '/nonexistent/ca.pem' }, codes.CERT_READ, /ca/],
  ]
  for (const [name, options, code, message] of cases) {
    const error = thrown(() => new Agent(options as never))
    t.equal(error.code, code, name)
    t.match(error.message, message, `${name}: the message says what is wrong`)
  }
  t.equal(thrown(() => new Agent('localhost' as never)).code, codes.INVALID_ARGUMENT)
})

t.test('agent - the error codes are static string constants, and err == Agent.CODE works', async (t) => {
  for (const code of ['TIMEOUT', 'UNKNOWN_ACTION', 'OFFLINE', 'UNKNOWN_AGENT', 'NO_CONNECTED_AGENTS', 'AGENT_NOT_CONNECTED', 'WRONG_SECRET', 'DUPLICATE_ID', 'NOT_AUTHORIZED', 'INVALID_MESSAGE', 'INTERNAL_ERROR', 'DISCONNECTED'] as const) {
    t.equal(Agent[code], code)
  }
})

t.test('agent - a server certificate the agent does not trust is TLS_FAILED on every attempt, not only in debug', async (t) => {
  const { port } = await startServer(t, true)
  const other = await generateCerts()
  const agent = new Agent({ host: `tls://127.0.0.1:${port}`, secret: SECRET, ca: other.ca.cert, reconnect: { initialDelay: 1, maxDelay: 20 } })
  t.teardown(() => agent.close())
  const [first] = (await next(agent, 'error')) as [CioError]
  const [second] = (await next(agent, 'error')) as [CioError]
  t.equal(first.code, codes.TLS_FAILED)
  t.equal(second.code, codes.TLS_FAILED, 'and again')
  t.match(first.details, { tlsCode: /CERT|SIGNATURE|ISSUER/ })
  const wrongName = new Agent({ host: `tls://127.0.0.1:${port}`, secret: SECRET, ca: (await testCerts()).ca.cert, servername: 'elsewhere.example', reconnect: { initialDelay: 1, maxDelay: 20 } })
  t.teardown(() => wrongName.close())
  const [named] = (await next(wrongName, 'error')) as [CioError]
  t.match(named, { code: codes.TLS_FAILED, details: { tlsCode: 'ERR_TLS_CERT_ALTNAME_INVALID' } })
})

for (const { secure, name: transport } of TRANSPORTS) {
  t.test(`agent - send: answers, a thrown plain value unchanged, UNKNOWN_ACTION, and err == Agent.TIMEOUT (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    server.onTunnel('someCommand', () => Promise.resolve({ message: 'received' }))
    server.onTunnel({
      otherCommand: () => {
        throw { code: 'MYERRCODE', msg: 'My error message' }
      },
      crash: () => {
        throw new Error('handler bug')
      },
      slow: () => gate().promise,
    })
    const { agent, name } = await readyAgent(t, port, secure)
    t.equal(agent.name, name)
    t.same(await agent.tunnel('someCommand', { hello: 'world' }, 10_000), { message: 'received' })
    t.same(await rejection(agent.send('otherCommand')), { code: 'MYERRCODE', msg: 'My error message' }, 'the plain value, unchanged')
    const unknown = await cioRejection(agent.send('nope'))
    t.ok((unknown as unknown) == Agent.UNKNOWN_ACTION, 'err == Agent.UNKNOWN_ACTION')
    t.equal((await cioRejection(agent.send('crash'))).code, codes.INTERNAL_ERROR)
    const slow = await cioRejection(agent.send('slow', {}, 20))
    t.ok((slow as unknown) == Agent.TIMEOUT, 'err == Agent.TIMEOUT')
    t.equal(slow.code, 'TIMEOUT')
    for (const [args, what] of [[[''], 'an empty action'], [['cio.ping'], 'a reserved action'], [['x', undefined, 0], 'a bad timeout'], [[5], 'a number']] as const) {
      t.equal((await cioRejection(agent.send(...(args as [string])))).code, codes.INVALID_ARGUMENT, what)
    }
  })

  t.test(`agent - hooks in the three forms get websocket-agent's (message, socket), then the call; catch-alls first; reserved actions refused (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    const agent = await makeAgent(t, port, secure)
    const seen: string[] = []
    agent.onHook('someEventFromServer', (message, socket, call) => (seen.push(`hook ${JSON.stringify(message)} ${String(socket instanceof net.Socket && socket === call.socket)} ${call.action}`), { status: 'Yay!' }))
    agent.onHook({ other: (message) => (message as number) + 1 })
    agent.onHook((action, message, socket) => void seen.push(`catch-all ${action} ${JSON.stringify(message)} ${String(socket instanceof net.Socket)}`))
    const [name] = (await next(agent, 'ready')) as [string]
    t.same(await server.sendTo(name, 'someEventFromServer', { a: 1 }), { status: 'Yay!' })
    t.equal(await server.sendTo(name, 'other', 1), 2)
    t.same(seen, ['catch-all someEventFromServer {"a":1} true', 'hook {"a":1} true someEventFromServer', 'catch-all other 1 true'])
    t.equal(thrown(() => agent.onHook('cio.ping', () => 1)).code, codes.INVALID_ARGUMENT)
    t.equal(thrown(() => agent.onHook(null as never)).code, codes.INVALID_ARGUMENT)
  })

  t.test(`agent - send waits for a handshake under way, and is OFFLINE at once while waiting to reconnect (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    server.onHook('add', (message) => (message as { a: number; b: number }).a + (message as { a: number; b: number }).b)
    const agent = await makeAgent(t, port, secure, { reconnect: { initialDelay: 40, maxDelay: 40 } })
    const early = agent.send('add', { a: 1, b: 1 })
    await next(agent, 'ready')
    t.equal(await early, 2, 'a send before the first handshake waited for it')
    const [record] = server.getAgents()
    const disconnected = next(agent, 'disconnected')
    record?.socket.destroy()
    await disconnected
    const offline = await cioRejection(agent.send('add', { a: 1, b: 2 }))
    t.ok((offline as unknown) == Agent.OFFLINE, 'between attempts: OFFLINE at once')
    const order: string[] = []
    agent.once('reconnected', () => order.push('reconnected'))
    await next(agent, 'connected')
    const during = agent.send('add', { a: 2, b: 3 }).then((value) => (order.push('answer'), value))
    t.equal(await during, 5, 'a send during the reconnect handshake waited for it')
    t.same(order, ['reconnected', 'answer'])
  })

  t.test(`agent - sends waiting for a handshake time out, and fail with OFFLINE when the attempt fails (${transport})`, async (t) => {
    // A server that accepts and never answers: the handshake stays under way.
    const silent = net.createServer((socket) => socket.on('error', () => {}))
    const port = await listenLocal(t, silent)
    const agent = await makeAgent(t, port, secure, { handshakeTimeout: 150, reconnect: { initialDelay: 5000, maxDelay: 5000 } })
    const waiting = await cioRejection(agent.send('x', undefined, 20))
    t.ok((waiting as unknown) == Agent.TIMEOUT, 'its own timeout while waiting')
    const failing = agent.send('x', undefined, 2000)
    t.equal((await cioRejection(failing)).code, codes.OFFLINE, 'the attempt failed (handshake timeout): OFFLINE')
  })

  t.test(`agent - calls pending when the connection drops reject at once with DISCONNECTED (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    server.onHook('hang', () => gate().promise)
    const { agent } = await readyAgent(t, port, secure)
    const started = performance.now()
    const pending = agent.send('hang', undefined, 10_000)
    await new Promise((resolve) => setImmediate(resolve))
    server.getAgents()[0]?.socket.destroy()
    const error = await cioRejection(pending)
    t.equal(error.code, codes.DISCONNECTED)
    t.ok(performance.now() - started < 2000, 'long before the timeout')
  })

  t.test(`agent - close() rejects pending and waiting sends, stops reconnecting, and is idempotent (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    server.onHook('hang', () => gate().promise)
    const { agent } = await readyAgent(t, port, secure)
    const pending = agent.send('hang', undefined, 10_000)
    const gone = next(server, 'agentDisconnected')
    const closing = agent.close()
    t.equal(agent.close(), closing)
    const error = await cioRejection(pending)
    t.equal(error.code, codes.DISCONNECTED)
    t.equal((error.cause as CioError).code, codes.CLOSED)
    await closing
    await gone
    const afterClose = await cioRejection(agent.send('x'))
    t.equal(afterClose.code, codes.OFFLINE, 'a closed agent is offline (err == Agent.OFFLINE)')
    t.ok((afterClose as unknown) == Agent.OFFLINE, 'the websocket-agent idiom')
    t.equal((afterClose.cause as CioError).code, codes.CLOSED)
    await pause(60)
    t.same(server.getAgents(), [], 'it did not come back')
    const waiting = await makeAgent(t, port, secure)
    const early = cioRejection(waiting.send('x'))
    await waiting.close()
    const waited = await early
    t.equal(waited.code, codes.OFFLINE, 'a send waiting for the first handshake')
    t.equal((waited.cause as CioError).code, codes.CLOSED)
  })

  t.test(`agent - a wrong secret: WRONG_SECRET on every attempt, retried at the longest backoff; stopOnWrongSecret stops (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    let connections = 0
    server.netServer.on('connection', () => connections++)
    const agent = await makeAgent(t, port, secure, { secret: 'not the secret, but long enough', reconnect: { initialDelay: 1, maxDelay: 60 } })
    const errors: CioError[] = []
    agent.on('error', (error) => errors.push(error))
    await next(agent, 'error')
    const [again] = (await next(agent, 'error')) as [CioError]
    t.ok((again as unknown) == Agent.WRONG_SECRET, 'reported again on the next attempt')
    t.equal(again.details.side, 'server', 'the agent found the server could not prove the secret')
    t.ok(connections >= 2 && connections <= 3, `it retried, slowly (${connections} connections)`)
    const offline = await cioRejection(agent.send('x'))
    t.equal(offline.code, codes.OFFLINE, 'offline meanwhile')
    t.same(server.getAgents(), [])
    const stopping = await makeAgent(t, port, secure, { secret: 'not the secret, but long enough', stopOnWrongSecret: true, reconnect: { initialDelay: 1, maxDelay: 1 } })
    const [error] = (await next(stopping, 'error')) as [CioError]
    t.equal(error.code, codes.WRONG_SECRET)
    const stopped = await cioRejection(stopping.send('x'))
    t.equal((stopped.cause as CioError).code, codes.WRONG_SECRET, 'stopped for good')
  })

  t.test(`agent - reconnect: false emits the failure and stays offline (${transport})`, async (t) => {
    const closed = net.createServer()
    const port = await listenLocal(t, closed)
    closed.close()
    const agent = await makeAgent(t, port, secure, { reconnect: false })
    const [error] = (await next(agent, 'error')) as [CioError]
    t.equal(error.code, codes.DISCONNECTED)
    t.equal((await cioRejection(agent.send('x'))).code, codes.OFFLINE)
  })
}

t.test("agent - the seed's fluent form: Agent.conf(promise).connect(url) makes a new agent each time", async (t) => {
  const { server, port } = await startServer(t, false)
  server.onTunnel('someCommand', () => ({ message: 'received' }))
  const conf = Promise.resolve({ secret: SECRET, handshakeTimeout: 2000 })
  const first = Agent.conf(conf).connect(`http://127.0.0.1:${port}`)
  const second = Agent.conf(conf).connect(`http://127.0.0.1:${port}`)
  t.teardown(() => first.close())
  t.teardown(() => second.close())
  t.not(first, second)
  await Promise.all([next(first, 'ready'), next(second, 'ready')])
  t.same(await first.tunnel('someCommand', { hello: 'world' }, 10_000), { message: 'received' })
  t.not(first.name, second.name)
  const plain = Agent.conf({ secret: SECRET }).connect(`127.0.0.1:${port}`)
  t.teardown(() => plain.close())
  await next(plain, 'ready')
  const broken = Agent.conf(Promise.resolve({ secret: '' })).connect(`127.0.0.1:${port}`)
  t.teardown(() => broken.close())
  const [error] = (await next(broken, 'error')) as [CioError]
  t.equal(error.code, codes.INVALID_OPTION, 'a promised conf: mistakes are emitted')
  t.equal((await cioRejection(broken.send('x'))).code, codes.OFFLINE)
  const rejected = Agent.conf(Promise.reject(new Error('no conf'))).connect(`127.0.0.1:${port}`)
  t.teardown(() => rejected.close())
  t.match(((await next(rejected, 'error')) as [CioError])[0], { code: codes.INVALID_OPTION, message: /no conf/ })
  const withCio = Agent.conf(Promise.resolve({ secret: SECRET, cio: buildCio() })).connect(`127.0.0.1:${port}`)
  t.teardown(() => withCio.close())
  t.match(((await next(withCio, 'error')) as [CioError])[0], { code: codes.INVALID_OPTION, message: /"cio"/ })
})

t.test('agent - keeps its name in its store and comes back under it; a failing store emits STORE_FAILED', async (t) => {
  const { port } = await startServer(t, false)
  const store = new MemoryStore()
  const { agent, name } = await readyAgent(t, port, false, { dataStore: store })
  await agent.close()
  t.same(await store.load(), { name })
  const { name: again } = await readyAgent(t, port, false, { dataStore: store })
  t.equal(again, name, 'the same name after a restart')
  const failing = { load: () => Promise.reject(new Error('no disk')), save: () => Promise.reject(new Error('still no disk')) }
  const errors: CioError[] = []
  const broken = await makeAgent(t, port, false, { dataStore: failing })
  broken.on('error', (error) => errors.push(error))
  // Not once(): it would reject at the first (non-fatal) error event.
  await new Promise((resolve) => broken.on('ready', resolve))
  await broken.close()
  t.same(errors.map((error) => error.code), [codes.STORE_FAILED, codes.STORE_FAILED])
  const invalid = await makeAgent(t, port, false, { dataStore: new MemoryStore({ name: '__proto__' }) })
  const ready = new Promise((resolve) => invalid.on('ready', resolve))
  const [error] = (await next(invalid, 'error')) as [CioError]
  t.match(error, { code: codes.STORE_FAILED, message: /invalid agent name/ })
  t.match(await ready, /^A\d+$/, 'then it connects under a new name')
})

t.test('agent - a user cio instance is used and shared; the agent listener is added once', async (t) => {
  const { port } = await startServer(t, false)
  const cio = buildCio()
  const one = await readyAgent(t, port, false, { cio })
  const two = await readyAgent(t, port, false, { cio })
  t.equal(one.agent.cio, cio)
  t.equal(two.agent.cio, cio)
  t.equal(cio.getClientChain().array.filter((fn) => fn.options?.id === 'cio/agent-client').length, 1)
  cio.getClientChain().disable('cio/agent-client', 'testing')
  const orphan = new Agent(await agentOptions(port, false, { cio }))
  t.teardown(() => orphan.close())
  t.match(((await next(orphan, 'error')) as [CioError])[0], { code: codes.INTERNAL_ERROR, message: /cio\/agent-client/ })
})
