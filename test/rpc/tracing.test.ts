/**
 * The diagnostics channels: `cio:call` and `cio:handle` (TracingChannels)
 * for success, user error, fault, timeout and cancel, with their documented
 * context fields; `cio:connection` and `cio:protocol-error`. Over TCP and
 * TLS, with the client calling the server and the server calling the client,
 * and between an agent and its server both ways.
 */
import diagnostics from 'node:diagnostics_channel'
import t, { type Test } from 'tap'
import { CioError, codes } from '../../lib/errors.js'
import { channelNames, type CallTrace, type ConnectionMessage, type ProtocolErrorMessage } from '../../lib/core/diagnostics.js'
import { RpcFault } from '../../lib/rpc/protocol.js'
import { DIRECTIONS, directed, rpcPair } from '../helpers/rpc.js'
import { readyAgent, startServer, TRANSPORTS } from '../helpers/agents.js'

interface Seen {
  event: string
  action: string
  id: number
  code: string | undefined
  meta: Record<string, string>
  agent: string | undefined
  remoteAddress: string | undefined
  result?: unknown
  error?: unknown
}

/** Subscribes to a tracing channel for the test; returns what it saw. */
function watch(t: Test, name: string): Seen[] {
  const seen: Seen[] = []
  const record = (event: string) => (message: unknown) => {
    const m = message as CallTrace
    seen.push({ event, action: m.action, id: m.id, code: m.code, meta: { ...m.meta }, agent: m.agent, remoteAddress: m.remoteAddress, ...('result' in m ? { result: m.result } : {}), ...('error' in m ? { error: m.error } : {}) })
  }
  const handlers = { start: record('start'), end: record('end'), asyncStart: record('asyncStart'), asyncEnd: record('asyncEnd'), error: record('error') }
  const channel = diagnostics.tracingChannel(name)
  channel.subscribe(handlers)
  t.teardown(() => channel.unsubscribe(handlers))
  return seen
}

const settled = (seen: Seen[], action: string): Seen | undefined => seen.find((s) => s.event === 'asyncEnd' && s.action === action)

for (const secure of [false, true]) {
  for (const direction of DIRECTIONS) {
    t.test(`tracing (${secure ? 'TLS' : 'TCP'}, ${direction}) - cio:call and cio:handle for success, user error, fault, timeout and cancel`, async (t) => {
      const connections: ConnectionMessage[] = []
      const onConnection = (message: unknown): void => void connections.push(message as ConnectionMessage)
      diagnostics.subscribe(channelNames.connection, onConnection)
      t.teardown(() => diagnostics.unsubscribe(channelNames.connection, onConnection))
      const calls = watch(t, 'cio:call')
      const handles = watch(t, 'cio:handle')
      const { caller, answerer } = directed(await rpcPair(t, secure), direction)
      t.equal(connections.length, 1, 'cio:connection: one connection accepted')
      t.equal(connections[0]?.secure, secure)
      answerer.on({
        ok: () => 'yes',
        user: () => {
          throw { reason: 'mine' }
        },
        fault: () => {
          throw new RpcFault(codes.NOT_AUTHORIZED, 'no')
        },
        hang: () => new Promise(() => {}),
      })
      t.equal(await caller.call('ok', null, { meta: { trace: 't1' } }), 'yes')
      t.same(await caller.call('user').catch((e: unknown) => e), { reason: 'mine' })
      t.equal(((await caller.call('fault').catch((e: unknown) => e)) as CioError).code, codes.NOT_AUTHORIZED)
      t.equal(((await caller.call('hang', null, { timeout: 30 }).catch((e: unknown) => e)) as CioError).code, codes.TIMEOUT)
      const controller = new AbortController()
      const aborted = caller.call('hang', null, { signal: controller.signal })
      setTimeout(() => controller.abort(), 20)
      t.equal(((await aborted.catch((e: unknown) => e)) as CioError).code, codes.ABORTED)
      for (let i = 0; i < 200 && handles.filter((s) => s.event === 'asyncEnd').length < 5; i++) await new Promise((resolve) => setTimeout(resolve, 5))

      t.same(
        ['ok', 'user', 'fault', 'hang'].map((action) => calls.filter((s) => s.action === action && s.event === 'asyncEnd').map((s) => s.code)),
        [['OK'], ['ERROR'], [codes.NOT_AUTHORIZED], [codes.TIMEOUT, codes.ABORTED]],
        'cio:call outcome codes',
      )
      const handled = ['ok', 'user', 'fault'].map((action) => settled(handles, action)?.code)
      t.same(handled, ['OK', 'ERROR', codes.NOT_AUTHORIZED], 'cio:handle outcome codes')
      const hangs = handles.filter((s) => s.action === 'hang' && s.event === 'asyncEnd').map((s) => s.code)
      t.equal(hangs.length, 2)
      t.ok(hangs.every((code) => code === codes.CANCELLED || code === codes.DEADLINE_EXCEEDED), `the abandoned calls end cancelled (${hangs.join(', ')})`)
      t.equal(hangs[1], codes.CANCELLED, 'the aborted call ends CANCELLED on the answering side')

      const ok = settled(calls, 'ok') as Seen
      t.same(ok.meta, { trace: 't1' })
      t.ok(ok.id >= 1, 'the id')
      t.equal(ok.remoteAddress, caller.socket.remoteAddress, "the caller's remote address")
      t.equal(ok.agent, undefined, 'no agent between plain RPC peers')
      t.equal(ok.result, 'yes')
      const okHandled = settled(handles, 'ok') as Seen
      t.same(okHandled.meta, { trace: 't1' })
      t.equal(okHandled.id, ok.id, 'both sides report the same id')
      t.equal(okHandled.remoteAddress, answerer.socket.remoteAddress, "the answerer's remote address")
      t.equal(okHandled.agent, undefined)
      t.ok(calls.some((s) => s.action === 'user' && s.event === 'error'), 'the error event fires for failures (cio:call)')
      t.ok(handles.some((s) => s.action === 'user' && s.event === 'error'), 'the error event fires for failures (cio:handle)')
      t.ok(calls.some((s) => s.event === 'start') && handles.some((s) => s.event === 'start'), 'start events')
    })
  }
}

for (const direction of DIRECTIONS) {
  t.test(`tracing (${direction}) - a bad message: cio:protocol-error names the code and the socket of the side that closed for it`, async (t) => {
    const seen: ProtocolErrorMessage[] = []
    const listener = (message: unknown): void => void seen.push(message as ProtocolErrorMessage)
    diagnostics.subscribe(channelNames.protocolError, listener)
    t.teardown(() => diagnostics.unsubscribe(channelNames.protocolError, listener))
    const { caller, answerer } = directed(await rpcPair(t, false), direction)
    const closed = new Promise((resolve) => answerer.framed.once('close', resolve))
    caller.framed.send({ id: 'x' })
    await closed
    t.equal(seen.length, 1)
    t.equal(seen[0]?.code, codes.INVALID_MESSAGE)
    t.equal(seen[0]?.socket, answerer.socket, 'the socket of the side that refused the message')
  })

  t.test(`tracing (${direction}) - interceptors and tracing together: the trace sees what the caller gets`, async (t) => {
    const calls = watch(t, 'cio:call')
    const { caller, answerer } = directed(await rpcPair(t, false), direction)
    answerer.on('x', () => 1)
    caller.use({
      call: async (ctx, next) => {
        await next()
        ctx.result = (ctx.result as number) + 1
      },
    })
    t.equal(await caller.call('x'), 2)
    t.equal(settled(calls, 'x')?.result, 2)
  })
}

for (const { secure, name } of TRANSPORTS) {
  for (const direction of ['agent calls server', 'server calls agent'] as const) {
    t.test(`tracing (${name}, ${direction}) - cio:call and cio:handle name the agent on both ends`, async (t) => {
      const calls = watch(t, 'cio:call')
      const handles = watch(t, 'cio:handle')
      const { server, port } = await startServer(t, secure)
      server.onHook('x', () => 'from server')
      const { agent, name: agentName } = await readyAgent(t, port, secure)
      agent.onHook('x', () => 'from agent')
      const answer = direction === 'agent calls server' ? await agent.send('x', null, { meta: { trace: 'a' } }) : await server.sendTo(agentName, 'x', null, { meta: { trace: 'a' } })
      t.equal(answer, direction === 'agent calls server' ? 'from server' : 'from agent')
      for (let i = 0; i < 200 && settled(handles, 'x') === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 5))
      for (const [channel, seen] of [['cio:call', calls], ['cio:handle', handles]] as const) {
        const x = settled(seen, 'x')
        t.equal(x?.agent, agentName, `${channel} names the agent`)
        t.equal(x?.code, 'OK', `${channel} code`)
        t.same(x?.meta, { trace: 'a' }, `${channel} meta`)
        t.equal(typeof x?.remoteAddress, 'string', `${channel} remote address`)
      }
    })
  }
}

t.test('tracing - cio:handle keeps TracingChannel order (start, end, [error], asyncStart, asyncEnd) with and without interceptors, and binds stores', async (t) => {
  const handles = watch(t, 'cio:handle')
  const calls = watch(t, 'cio:call')
  // A subscriber's store, bound to start: it must be set while the handler runs.
  const { AsyncLocalStorage } = await import('node:async_hooks')
  const store = new AsyncLocalStorage<string>()
  const channel = diagnostics.tracingChannel('cio:handle')
  channel.start.bindStore(store, (context) => `span:${(context as CallTrace).action}`)
  t.teardown(() => channel.start.unbindStore(store))
  const { clientPeer, serverPeer } = await rpcPair(t, false)
  const spans: Array<string | undefined> = []
  serverPeer.on({
    plain: () => spans.push(store.getStore()),
    later: async () => {
      await new Promise((resolve) => setImmediate(resolve))
      spans.push(store.getStore())
    },
    throws: () => {
      throw { reason: 'mine' }
    },
  })
  const events = (action: string): string[] => handles.filter((s) => s.action === action).map((s) => s.event)
  await clientPeer.call('plain')
  t.same(calls.filter((s) => s.action === 'plain').map((s) => s.event), ['start', 'end', 'asyncStart', 'asyncEnd'], 'cio:call: the subscriber hears the outcome before the caller does')
  await clientPeer.call('later')
  await clientPeer.call('throws').catch(() => undefined)
  t.same(calls.filter((s) => s.action === 'throws').map((s) => s.event), ['start', 'end', 'error', 'asyncStart', 'asyncEnd'], 'cio:call: a rejected call')
  serverPeer.use({ handle: async (_ctx, next) => next() })
  await clientPeer.call('plain')
  for (let i = 0; i < 200 && events('plain').length < 8; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  t.same(events('plain'), ['start', 'end', 'asyncStart', 'asyncEnd', 'start', 'end', 'asyncStart', 'asyncEnd'], 'a plain handler, then through an interceptor')
  t.same(events('later'), ['start', 'end', 'asyncStart', 'asyncEnd'], 'an async handler')
  t.same(events('throws'), ['start', 'end', 'error', 'asyncStart', 'asyncEnd'], 'a throw')
  t.same(spans, ['span:plain', 'span:later', 'span:plain'], "the subscriber's store is set in the handler, across its awaits too")
})
