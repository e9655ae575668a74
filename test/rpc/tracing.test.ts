/**
 * The diagnostics channels: `cio:call` and `cio:handle` (TracingChannels)
 * for success, user error, fault, timeout and cancel, with their documented
 * context fields; `cio:connection` and `cio:protocol-error`. Over TCP and TLS.
 */
import diagnostics from 'node:diagnostics_channel'
import t, { type Test } from 'tap'
import { CioError, codes } from '../../lib/errors.js'
import { channelNames, type CallTrace, type ConnectionMessage, type ProtocolErrorMessage } from '../../lib/core/diagnostics.js'
import { RpcFault } from '../../lib/rpc/protocol.js'
import { rpcPair } from '../helpers/rpc.js'

interface Seen {
  event: string
  action: string
  id: number
  code: string | undefined
  meta: Record<string, string>
  agent: string | undefined
  remote: boolean
  result?: unknown
  error?: unknown
}

/** Subscribes to a tracing channel for the test; returns what it saw. */
function watch(t: Test, name: string): Seen[] {
  const seen: Seen[] = []
  const record = (event: string) => (message: unknown) => {
    const m = message as CallTrace
    seen.push({ event, action: m.action, id: m.id, code: m.code, meta: { ...m.meta }, agent: m.agent, remote: typeof m.remoteAddress === 'string', ...('result' in m ? { result: m.result } : {}), ...('error' in m ? { error: m.error } : {}) })
  }
  const handlers = { start: record('start'), end: record('end'), asyncStart: record('asyncStart'), asyncEnd: record('asyncEnd'), error: record('error') }
  const channel = diagnostics.tracingChannel(name)
  channel.subscribe(handlers)
  t.teardown(() => channel.unsubscribe(handlers))
  return seen
}



const settled = (seen: Seen[], action: string): Seen | undefined => seen.find((s) => s.event === 'asyncEnd' && s.action === action)

for (const secure of [false, true]) {
  t.test(`tracing (${secure ? 'TLS' : 'TCP'}) - cio:call and cio:handle for success, user error, fault, timeout and cancel`, async (t) => {
    const connections: ConnectionMessage[] = []
    const onConnection = (message: unknown): void => void connections.push(message as ConnectionMessage)
    diagnostics.subscribe(channelNames.connection, onConnection)
    t.teardown(() => diagnostics.unsubscribe(channelNames.connection, onConnection))
    const calls = watch(t, 'cio:call')
    const handles = watch(t, 'cio:handle')
    const { clientPeer, serverPeer } = await rpcPair(t, secure)
    t.equal(connections.length, 1, 'cio:connection: one connection accepted')
    t.equal(connections[0]?.secure, secure)
    serverPeer.on({
      ok: () => 'yes',
      user: () => {
        throw { reason: 'mine' }
      },
      fault: () => {
        throw new RpcFault(codes.NOT_AUTHORIZED, 'no')
      },
      hang: () => new Promise(() => {}),
    })
    t.equal(await clientPeer.call('ok', null, { meta: { trace: 't1' } }), 'yes')
    t.same(await clientPeer.call('user').catch((e: unknown) => e), { reason: 'mine' })
    t.equal(((await clientPeer.call('fault').catch((e: unknown) => e)) as CioError).code, codes.NOT_AUTHORIZED)
    t.equal(((await clientPeer.call('hang', null, { timeout: 30 }).catch((e: unknown) => e)) as CioError).code, codes.TIMEOUT)
    const controller = new AbortController()
    const aborted = clientPeer.call('hang', null, { signal: controller.signal })
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
    t.ok(ok.id >= 1 && ok.remote, 'id and remote address')
    t.equal(ok.result, 'yes')
    const okHandled = settled(handles, 'ok') as Seen
    t.same(okHandled.meta, { trace: 't1' })
    t.equal(okHandled.id, ok.id, 'both sides report the same id')
    t.ok(calls.some((s) => s.action === 'user' && s.event === 'error'), 'the error event fires for failures')
    t.ok(calls.some((s) => s.event === 'start') && handles.some((s) => s.event === 'start'), 'start events')
  })
}

t.test('tracing - cio:protocol-error names the code and the socket', async (t) => {
  const seen: ProtocolErrorMessage[] = []
  const listener = (message: unknown): void => void seen.push(message as ProtocolErrorMessage)
  diagnostics.subscribe(channelNames.protocolError, listener)
  t.teardown(() => diagnostics.unsubscribe(channelNames.protocolError, listener))
  const { clientPeer, serverPeer } = await rpcPair(t, false)
  const closed = new Promise((resolve) => serverPeer.framed.once('close', resolve))
  clientPeer.framed.send({ id: 'x' })
  await closed
  t.equal(seen.length, 1)
  t.equal(seen[0]?.code, codes.INVALID_MESSAGE)
  t.equal(seen[0]?.socket, serverPeer.socket)
})

t.test('tracing - interceptors and tracing together: the trace sees what the caller gets', async (t) => {
  const calls = watch(t, 'cio:call')
  const { clientPeer, serverPeer } = await rpcPair(t, false)
  serverPeer.on('x', () => 1)
  clientPeer.use({
    call: async (ctx, next) => {
      await next()
      ctx.result = (ctx.result as number) + 1
    },
  })
  t.equal(await clientPeer.call('x'), 2)
  t.equal(settled(calls, 'x')?.result, 2)
})
