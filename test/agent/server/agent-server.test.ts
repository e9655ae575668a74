import { once } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import t from 'tap'
import buildCio from '../../../lib/index.js'
import { AgentServer } from '../../../lib/agent/server/agent-server.js'
import { join } from 'node:path'
import { MemoryStore } from '../../../lib/agent/store.js'
import { FileStore } from '../../../lib/agent/compat.js'
import { codes, type CioError } from '../../../lib/errors.js'
import { cioRejection, rejection } from '../../helpers/framing.js'
import { thrown } from '../../helpers/errors.js'
import { testCerts } from '../../helpers/certs.js'
import { gate, makeAgent, next, readyAgent, SECRET, startServer, TRANSPORTS } from '../../helpers/agents.js'

t.test('agent server - options are checked at once, with a coded error naming the option', async (t) => {
  const certs = await testCerts()
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['no secret', {}, codes.INVALID_OPTION, /"secret" option is required/],
    ['an empty secret', { secret: '' }, codes.INVALID_OPTION, /"secret"/],
    ['a bad port', { secret: SECRET, port: 70000 }, codes.INVALID_OPTION, /"port"/],
    ['a bad host', { secret: SECRET, host: '' }, codes.INVALID_OPTION, /"host"/],
    ['an unknown protocol', { secret: SECRET, protocol: 'udp' }, codes.INVALID_OPTION, /"protocol"/],
    ['TCP with certificates', { secret: SECRET, protocol: 'tcp', key: certs.server.key, cert: certs.server.cert }, codes.INVALID_OPTION, /certificate options/],
    ['TLS without a key', { secret: SECRET, protocol: AgentServer.TLS }, codes.INVALID_OPTION, /needs "key" and "cert"/],
    ['two names for the key', { secret: SECRET, key: certs.server.key, privateKey: certs.server.key, cert: certs.server.cert }, codes.INVALID_OPTION, /"privateKey"/],
    ['tlsOptions and wssOptions', { secret: SECRET, tlsOptions: {}, wssOptions: {} }, codes.INVALID_OPTION, /"wssOptions"/],
    ['a bad wssOptions', { secret: SECRET, wssOptions: 5 }, codes.INVALID_OPTION, /"wssOptions"/],
    ['a misspelt option', { secret: SECRET, heartbeatIntervall: 5 }, codes.INVALID_OPTION, /no "heartbeatIntervall" option/],
    ['a bad name format', { secret: SECRET, agentNameFormat: 'A' }, codes.INVALID_OPTION, /agentNameFormat/],
    ['a bad store', { secret: SECRET, dataStore: {} }, codes.INVALID_OPTION, /"dataStore"/],
    ['a bad timeout', { secret: SECRET, timeout: 0 }, codes.INVALID_OPTION, /"timeout"/],
    ['a bad heartbeat', { secret: SECRET, heartbeatInterval: -1 }, codes.INVALID_OPTION, /"heartbeatInterval"/],
    ['a bad logger', { secret: SECRET, logger: 'yes' }, codes.INVALID_OPTION, /"logger"/],
    ['a bad debug', { secret: SECRET, debug: 'yes' }, codes.INVALID_OPTION, /"debug"/],
    ['a bad cio', { secret: SECRET, cio: {} }, codes.INVALID_OPTION, /"cio"/],
    ['a missing certificate file', { secret: SECRET, key: '/nonexistent/key.pem', cert: certs.server.cert }, codes.CERT_READ, /key/],
  ]
  for (const [name, options, code, message] of cases) {
    const error = thrown(() => new AgentServer(options as never))
    t.equal(error.code, code, name)
    t.match(error.message, message, `${name}: the message says what is wrong`)
  }
  t.equal(thrown(() => new AgentServer(null as never)).code, codes.INVALID_ARGUMENT, 'no options at all')
})

t.test('agent server - the error codes are static string constants', async (t) => {
  for (const code of ['TIMEOUT', 'UNKNOWN_ACTION', 'OFFLINE', 'UNKNOWN_AGENT', 'NO_CONNECTED_AGENTS', 'AGENT_NOT_CONNECTED', 'WRONG_SECRET', 'DUPLICATE_ID', 'NOT_AUTHORIZED', 'INVALID_MESSAGE', 'INTERNAL_ERROR', 'DISCONNECTED'] as const) {
    t.equal(AgentServer[code], code)
  }
  t.same([AgentServer.TCP, AgentServer.TLS, AgentServer.WS, AgentServer.WSS], ['tcp', 'tls', 'ws', 'wss'])
})

for (const { secure, name: transport } of TRANSPORTS) {
  t.test(`agent server - listens at once; ready() and address() give the port; the seed's names select the transport (${transport})`, async (t) => {
    const certs = await testCerts()
    const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', protocol: secure ? AgentServer.WSS : AgentServer.WS, ...(secure ? { privateKey: certs.server.key, certificate: certs.server.cert } : {}) })
    t.teardown(() => server.close())
    const [listened] = (await next(server, 'listening')) as [net.AddressInfo]
    const address = await server.ready()
    t.equal(address.port, listened.port)
    t.same(server.address(), address)
    t.equal(server.netServer instanceof tls.Server, secure, 'TLS exactly when asked')
    t.ok(server.cio.getServerClientChain().array.some((fn) => fn.options?.id === 'cio/agent-server'), 'the agent listener is in the chain')
  })

  t.test(`agent server - hooks in the three forms get websocket-agent's (message, socket, agent); catch-alls first; reserved actions refused (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    const seen: string[] = []
    server.onHook('greet', (message, socket, agent) => (seen.push(`greet ${String(message)} from ${agent.name} ${String(socket === agent.socket)}`), `hello ${agent.name}`))
    server.onTunnel({ twice: (message) => (message as number) * 2 })
    server.onHook((action, message, socket, agent) => void seen.push(`catch-all ${action} ${JSON.stringify(message)} ${agent.name} ${String(socket === agent.socket)}`))
    const { agent, name } = await readyAgent(t, port, secure)
    t.equal(await agent.send('greet', 'hi'), `hello ${name}`)
    t.equal(await agent.send('twice', 21), 42)
    t.same(seen, [`catch-all greet "hi" ${name} true`, `greet hi from ${name} true`, `catch-all twice 21 ${name} true`])
    for (const bad of [() => server.onHook('cio.hello', () => 1), () => server.onHook({ 'cio.x': () => 1 }), () => server.onHook('x', 5 as never), () => server.onHook(5 as never), () => server.onHook('', () => 1)]) {
      t.equal(thrown(bad).code, codes.INVALID_ARGUMENT)
    }
    t.equal(thrown(() => server.onHook({ ok: () => 1, 'cio.y': () => 1 })).code, codes.INVALID_ARGUMENT, 'a bad map adds nothing')
    t.equal(await agent.send('ok'), undefined, '... not even its good entries: only the catch-all answered')
  })

  t.test(`agent server - agentConnected gives a new record per connection; sendTo takes a record or a name (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    const connected = next<[{ name: string; socket: net.Socket; firstTime: boolean; data: unknown }]>(server, 'agentConnected')
    const { agent, name } = await readyAgent(t, port, secure)
    agent.onHook('myAction', (message) => ({ got: message }))
    const [record] = await connected
    t.match(record, { name, firstTime: true, data: undefined })
    t.ok(record.socket instanceof net.Socket)
    record.data = { connectedOn: 1 }
    t.same(server.getAgents(), [record])
    t.same(await server.sendTo(record, 'myAction', { msg: `Welcome ${record.name}` }), { got: { msg: `Welcome ${name}` } })
    t.same(await server.sendTo(name, 'myAction', 1), { got: 1 })
    const disconnected = next<[typeof record]>(server, 'agentDisconnected')
    const again = next<[typeof record]>(server, 'agentConnected')
    record.socket.destroy()
    t.equal((await disconnected)[0], record)
    const [fresh] = await again
    t.not(fresh, record, 'a reconnection makes a new record')
    t.match(fresh, { name, firstTime: false, data: undefined }, 'same name, not new, no data')
    t.equal((await cioRejection(server.sendTo(record, 'myAction'))).code, codes.AGENT_NOT_CONNECTED, 'an old record is not connected')
    t.same(await server.sendTo(fresh, 'myAction', 2), { got: 2 })
  })

  t.test(`agent server - sendTo refuses what it cannot send, with the code (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    const { agent, name } = await readyAgent(t, port, secure)
    agent.onHook('slow', () => gate().promise)
    t.equal((await cioRejection(server.sendTo('B7', 'x'))).code, codes.UNKNOWN_AGENT, 'a name never given out')
    t.equal((await cioRejection(server.sendTo('A99', 'x'))).code, codes.UNKNOWN_AGENT, 'a name of the format beyond the counter')
    t.equal((await cioRejection(server.sendTo(name, 'nope'))).code, codes.UNKNOWN_ACTION)
    const timedOut = await cioRejection(server.sendTo(name, 'slow', {}, 20))
    t.ok((timedOut as unknown) == AgentServer.TIMEOUT, 'err == AgentServer.TIMEOUT')
    for (const [args, what] of [[[name, ''], 'an empty action'], [[name, 'cio.ping'], 'a reserved action'], [[name, 'x', undefined, -1], 'a bad timeout'], [[42, 'x'], 'not an agent']] as const) {
      t.equal((await cioRejection(server.sendTo(...(args as [string, string])))).code, codes.INVALID_ARGUMENT, what)
    }
    await agent.close()
    t.equal((await cioRejection(server.sendTo(name, 'x'))).code, codes.AGENT_NOT_CONNECTED, 'a known agent that left')
  })

  t.test(`agent server - sendAll and sendAllSettled with two agents, one failing (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    t.equal((await cioRejection(server.sendAll('healthCheck'))).code, codes.NO_CONNECTED_AGENTS)
    t.same(await server.sendAllSettled('healthCheck'), {}, 'settled with nobody: empty')
    const one = await readyAgent(t, port, secure)
    const two = await readyAgent(t, port, secure)
    one.agent.onHook('healthCheck', (message) => ({ ok: true, echo: message }))
    two.agent.onHook('healthCheck', () => ({ ok: true }))
    const all = await server.sendAll('healthCheck', 'ping')
    t.same(all, { [one.name]: { ok: true, echo: 'ping' }, [two.name]: { ok: true } })
    t.equal(Object.getPrototypeOf(all), null, 'keyed without a prototype')
    two.agent.onHook('broken', () => {
      throw { code: 'MYERRCODE', msg: 'refused' }
    })
    one.agent.onHook('broken', () => 'fine')
    const error = await cioRejection(server.sendAll('broken'))
    t.equal(error.code, codes.SEND_ALL_FAILED)
    t.match(error.message, new RegExp(`1 of 2 agents failed.*${two.name}`))
    const results = error.details.results as Record<string, { ok: boolean; value?: unknown; error?: unknown }>
    t.same(results[one.name], { ok: true, value: 'fine' })
    t.same(results[two.name], { ok: false, error: { code: 'MYERRCODE', msg: 'refused' } })
    const settled = await server.sendAllSettled('broken')
    t.same(settled, results, 'sendAllSettled resolves with the same outcomes')
    t.equal((await cioRejection(server.sendAll(''))).code, codes.INVALID_ARGUMENT)
  })

  t.test(`agent server - close() rejects pending calls with DISCONNECTED (cause CLOSED), closes agents, and is idempotent (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    const { agent, name } = await readyAgent(t, port, secure, { reconnect: false })
    agent.onHook('hang', () => gate().promise)
    const pending = server.sendTo(name, 'hang', undefined, 10_000)
    const disconnected = next(server, 'agentDisconnected')
    const agentSaw = next(agent, 'disconnected')
    const closing = server.close()
    t.equal(server.close(), closing, 'the same promise')
    const error = await cioRejection(pending)
    t.equal(error.code, codes.DISCONNECTED)
    t.equal((error.cause as CioError).code, codes.CLOSED)
    await disconnected
    await agentSaw
    await closing
    t.equal(server.address(), null, 'no longer listening')
    t.equal((await cioRejection(server.sendTo(name, 'x'))).code, codes.CLOSED)
    t.equal((await cioRejection(server.sendAll('x'))).code, codes.CLOSED)
    t.same(server.getAgents(), [])
  })
}

t.test('agent server - a listen error is emitted as LISTEN_FAILED and rejects ready(); nothing exits', async (t) => {
  const blocker = net.createServer()
  blocker.listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  t.teardown(() => blocker.close())
  const { port } = blocker.address() as net.AddressInfo
  const server = new AgentServer({ secret: SECRET, port, host: '127.0.0.1', noRelisten: true })
  t.teardown(() => server.close())
  const [emitted] = (await next(server, 'error')) as [CioError]
  t.equal(emitted.code, codes.LISTEN_FAILED)
  t.match(emitted.message, String(port))
  t.equal(((await rejection(server.ready())) as CioError).code, codes.LISTEN_FAILED)
  const silent = new AgentServer({ secret: SECRET, port, host: '127.0.0.1', noRelisten: true })
  t.equal(((await rejection(silent.ready())) as CioError).code, codes.LISTEN_FAILED, 'without an error listener: no crash')
  await silent.close()
})

t.test('agent server - close() before listening rejects ready() with CLOSED', async (t) => {
  const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1' })
  await server.close()
  t.equal(((await rejection(server.ready())) as CioError).code, codes.CLOSED)
})

t.test('agent server - debug and logger print only when asked', async (t) => {
  const lines: string[] = []
  const { port } = await startServer(t, false, { logger: (message) => lines.push(message) })
  await readyAgent(t, port, false)
  t.ok(lines.some((line) => /listening on/.test(line)))
  t.ok(lines.some((line) => /agent A1 connected \(new\)/.test(line)))
  const printed: unknown[] = []
  const original = console.error
  console.error = (...args: unknown[]) => void printed.push(args)
  t.teardown(() => (console.error = original))
  const quiet = await startServer(t, false)
  await readyAgent(t, quiet.port, false)
  t.same(printed, [], 'nothing printed without debug')
  const loud = await startServer(t, false, { debug: true })
  const { agent } = await readyAgent(t, loud.port, false)
  await agent.close()
  await loud.server.close()
  console.error = original
  t.ok(printed.length > 0, 'debug: true prints')
})

t.test('agent server - a user cio instance: its own listeners run around the agent ones, ordered by id', async (t) => {
  const cio = buildCio()
  const order: string[] = []
  const before = Object.assign(() => void order.push('before'), { options: { id: 'my/before', before: ['cio/agent-server'] } })
  const after = Object.assign(() => void order.push('after'), { options: { id: 'my/after', after: ['cio/agent-server'] } })
  cio.onServerClient(after, before)
  const { server, port } = await startServer(t, false, { cio })
  t.equal(server.cio, cio)
  await readyAgent(t, port, false)
  t.same(order, ['before', 'after'])
  const second = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', cio })
  t.teardown(() => second.close())
  await second.ready()
  t.equal(cio.getServerClientChain().array.filter((fn) => fn.options?.id === 'cio/agent-server').length, 1, 'the listener is added once per cio')
})

t.test('agent server - a failing data store fails closed: new agents are refused and retry, named ones get in, nothing is saved', async (t) => {
  let loads = 0
  const saved: unknown[] = []
  const store = {
    load: () => (++loads <= 1 ? Promise.reject(new Error('disk on fire')) : Promise.resolve({ counter: 41 })),
    save: (doc: unknown) => (saved.push(doc), Promise.resolve()),
  }
  const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', dataStore: store })
  t.teardown(() => server.close())
  const errors: CioError[] = []
  server.on('error', (error) => errors.push(error))
  const { port } = await server.ready()
  // A returning agent is admitted under its name while the store fails.
  const { name: returning } = await readyAgent(t, port, false, { dataStore: new MemoryStore({ name: 'A7' }) })
  t.equal(returning, 'A7')
  t.same(saved, [], 'nothing saved while the counter is not the store\'s')
  // A new agent: refused with STORE_FAILED until the load is retried (once a second), then named after the stored counter.
  const fresh = await makeAgent(t, port, false, { reconnect: { initialDelay: 200, maxDelay: 400 } })
  const refusals: string[] = []
  fresh.on('error', (error) => refusals.push(error.code))
  const name = await new Promise<string>((resolve) => fresh.once('ready', resolve))
  t.ok(refusals.length >= 1 && refusals.every((code) => code === codes.STORE_FAILED), 'refused with STORE_FAILED while the counter was not loaded')
  t.equal(name, 'A42', 'named from the counter loaded on retry, never A1')
  t.equal(loads, 2, 'loaded again')
  t.match(errors[0], { code: codes.STORE_FAILED, message: /disk on fire/ })
  t.same(saved, [{ counter: 42 }])
  const bad = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', dataStore: new MemoryStore({ counter: -3 }) })
  t.teardown(() => bad.close())
  const [invalid] = (await next(bad, 'error')) as [CioError]
  t.equal(invalid.code, codes.STORE_FAILED)
  t.match(invalid.message, /no valid counter/)
})

t.test('agent server - a throwing listener is reported as INTERNAL_ERROR; a throwing error listener is contained', async (t) => {
  const lines: string[] = []
  const { server, port } = await startServer(t, false, { logger: (message) => lines.push(message) })
  server.on('agentConnected', () => {
    throw new Error('listener bug')
  })
  const reported = next<[CioError]>(server, 'error')
  const { agent } = await readyAgent(t, port, false)
  const [error] = await reported
  t.match(error, { code: codes.INTERNAL_ERROR, message: /"agentConnected" listener threw: listener bug/ })
  t.equal(server.getAgents().length, 1, 'the agent is connected all the same')
  server.removeAllListeners('error')
  server.on('error', () => {
    throw new Error('error listener bug')
  })
  await agent.close()
  const next2 = await readyAgent(t, port, false)
  t.ok(next2.name, 'still serving')
  t.ok(lines.some((line) => /an "error" listener threw: error listener bug/.test(line)), 'logged, not thrown')
})

t.test('agent server - a FileStore that cannot write refuses the name with its own STORE_FAILED', async (t) => {
  const dir = t.testdir()
  const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', dataStore: FileStore({ file: join(dir, 'missing', 'server.json') }) })
  t.teardown(() => server.close())
  const errors: CioError[] = []
  server.on('error', (error) => errors.push(error))
  const { port } = await server.ready()
  const agent = await makeAgent(t, port, false, { reconnect: false })
  const [refused] = (await next(agent, 'error')) as [CioError]
  t.equal(refused.code, codes.STORE_FAILED, 'the agent is told why it got no name')
  t.equal(errors[0]?.code, codes.STORE_FAILED)
  t.match(errors[0]?.details, { file: /server\.json$/ }, 'the store\'s own error, with its file')
  t.same(server.getAgents(), [], 'no name was given out')
})

t.test('agent server - connections arriving while it closes are turned away', async (t) => {
  const cio = buildCio()
  const { server, port } = await startServer(t, false, { cio })
  const closing = Object.assign(() => void server.close(), { options: { id: 'test/close-now', before: ['cio/agent-server'] } })
  cio.onServerClient(closing)
  const agent = await makeAgent(t, port, false, { reconnect: false })
  await next(agent, 'error')
  t.same(server.getAgents(), [])
})

t.test('agent server - an answer above maxFrameBytes closes the connection instead of hanging the agent', async (t) => {
  const { port } = await startServer(t, false, { maxFrameBytes: 120 })
  const agent = await makeAgent(t, port, false, { reconnect: false })
  const [error] = (await next(agent, 'error')) as [CioError]
  t.equal(error.code, codes.DISCONNECTED)
})
