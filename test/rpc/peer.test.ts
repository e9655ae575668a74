import { once } from 'node:events'
import t, { type Test } from 'tap'
import { CioError, codes } from '../../lib/errors.js'
import { RpcHandlers, type RpcCall } from '../../lib/rpc/handlers.js'
import { RpcFault } from '../../lib/rpc/protocol.js'
import type { RpcPeer } from '../../lib/rpc/peer.js'
import { cioRejection, rejection } from '../helpers/framing.js'
import { netPair, rpcPair } from '../helpers/rpc.js'

type Sides = { caller: RpcPeer; callee: RpcPeer }

/**
 * Runs `body` for every transport and direction: client calls server and
 * server calls client, over TCP and over TLS, each on a fresh connection.
 */
function bothWays(name: string, body: (t: Test, sides: Sides) => Promise<void>, serverOptions = {}): void {
  for (const secure of [false, true]) {
    for (const clientCalls of [true, false]) {
      t.test(`${name} (${clientCalls ? 'client calls server' : 'server calls client'}, ${secure ? 'TLS' : 'TCP'})`, async (t) => {
        const pair = await rpcPair(t, secure, serverOptions, serverOptions)
        const sides = clientCalls ? { caller: pair.clientPeer, callee: pair.serverPeer } : { caller: pair.serverPeer, callee: pair.clientPeer }
        await body(t, sides)
        t.equal(sides.caller.pendingCalls, 0, 'no pending entry is left behind')
      })
    }
  }
}

/** A promise that the test settles by hand, to hold a handler open. */
function gate<T = unknown>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void
  const promise = new Promise<T>((resolve) => (open = resolve))
  return { promise, open }
}

bothWays('rpc - call resolves with the result; bodies and results round-trip', async (t, { caller, callee }) => {
  callee.on('echo', (body) => body)
  for (const value of [null, 0, -1.5, 'text €😀', true, [1, [2, [3]]], { a: { b: 'c' } }, 'x'.repeat(100_000)]) {
    t.same(await caller.call('echo', value), value, JSON.stringify(value).slice(0, 30))
  }
  t.equal(await caller.call('echo'), undefined, 'no body: the handler gets undefined')
})

bothWays('rpc - handler forms: catch-alls first, then declaration order; the last value is the response', async (t, { caller, callee }) => {
  const seen: string[] = []
  callee.on('greet', (body, call) => {
    seen.push(`action 1: ${String(body)} ${call.action}`)
    return 'first'
  })
  callee.on({ greet: () => (seen.push('action 2 (map form)'), 'second') })
  callee.on((action, body) => {
    seen.push(`catch-all: ${action} ${String(body)}`)
    return 'catch-all'
  })
  t.equal(await caller.call('greet', 'hi'), 'second', 'the last handler gave the response')
  t.same(seen, ['catch-all: greet hi', 'action 1: hi greet', 'action 2 (map form)'])
  t.equal(await caller.call('other'), 'catch-all', 'a catch-all alone answers any action')
})

bothWays('rpc - async handlers run one after the other; a final undefined empties the response', async (t, { caller, callee }) => {
  const order: string[] = []
  const first = gate<string>()
  callee.on('slow', async () => {
    order.push('first start')
    const value = await first.promise
    order.push('first end')
    return value
  })
  callee.on('slow', () => {
    order.push('second')
    return undefined
  })
  const result = caller.call('slow')
  await new Promise<void>((resolve) => setImmediate(resolve))
  while (order.length === 0) await new Promise<void>((resolve) => setImmediate(resolve))
  t.same(order, ['first start'], 'the second waits for the first')
  first.open('ignored')
  t.equal(await result, undefined, 'literally the last return value')
  t.same(order, ['first start', 'first end', 'second'])
})

bothWays('rpc - a thrown or rejected plain value reaches the caller unchanged and stops the run', async (t, { caller, callee }) => {
  let after = 0
  callee.on('sync', () => {
    throw { code: 'MYERRCODE', msg: 'My error message' }
  })
  callee.on('sync', () => after++)
  callee.on('async', () => Promise.reject(['a', 1, null]))
  callee.on('async', () => after++)
  callee.on('string', () => {
    throw 'just a string'
  })
  callee.on('null', () => {
    throw null
  })
  t.same(await rejection(caller.call('sync')), { code: 'MYERRCODE', msg: 'My error message' })
  t.same(await rejection(caller.call('async')), ['a', 1, null])
  t.equal(await rejection(caller.call('string')), 'just a string')
  t.equal(await rejection(caller.call('null')), null)
  t.equal(after, 0, 'no handler ran after a throw')
})

bothWays('rpc - an Error becomes INTERNAL_ERROR with its message and without its stack; RpcFault keeps its code', async (t, { caller, callee }) => {
  callee.on('boom', function handlerThatThrows() {
    throw new TypeError('bad input')
  })
  callee.on('rejects', async () => {
    throw new Error('async failure')
  })
  callee.on('denied', () => {
    throw new RpcFault(codes.NOT_AUTHORIZED, 'log in first')
  })
  const boom = await cioRejection(caller.call('boom'))
  t.equal(boom.code, codes.INTERNAL_ERROR)
  t.equal(boom.message, 'bad input')
  t.notMatch(boom.stack ?? '', /handlerThatThrows/, 'the remote stack did not travel')
  t.equal(boom.details.remote, true)
  t.equal((await cioRejection(caller.call('rejects'))).message, 'async failure')
  const denied = await cioRejection(caller.call('denied'))
  t.equal(denied.code, codes.NOT_AUTHORIZED)
  t.equal(denied.message, 'log in first')
  t.equal(String(denied), 'NOT_AUTHORIZED', "the seed's err == Agent.CODE idiom works (toString gives the code)")
})

bothWays('rpc - no handler for the action: UNKNOWN_ACTION, prototype names included', async (t, { caller, callee }) => {
  callee.on('known', () => 1)
  for (const action of ['missing', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    const error = await cioRejection(caller.call(action))
    t.equal(error.code, codes.UNKNOWN_ACTION, action)
  }
  t.equal(await caller.call('known'), 1)
})

bothWays('rpc - timeout: TIMEOUT, the late response is dropped quietly', async (t, { caller, callee }) => {
  const held = gate<string>()
  callee.on('late', () => held.promise)
  callee.on('quick', () => 'quick')
  const error = await cioRejection(caller.call('late', undefined, { timeout: 20 }))
  t.equal(error.code, codes.TIMEOUT)
  t.match(error.message, /within 20 ms/)
  t.equal(caller.pendingCalls, 0, 'removed at the timeout')
  held.open('too late')
  // The late response is on the wire before this call's response.
  t.equal(await caller.call('quick'), 'quick', 'the connection is fine after the late response')
  t.equal(caller.closed, false)
  t.equal(caller.callTimeout, 30_000, 'the default timeout is 30 s')
})

bothWays('rpc - an AbortSignal aborts with ABORTED, before or during the call', async (t, { caller, callee }) => {
  const held = gate()
  callee.on('hold', () => held.promise)
  const controller = new AbortController()
  const pending = caller.call('hold', undefined, { signal: controller.signal })
  controller.abort('changed my mind')
  const error = await cioRejection(pending)
  t.equal(error.code, codes.ABORTED)
  t.equal(error.cause, 'changed my mind', 'the reason is the cause')
  t.equal(caller.pendingCalls, 0)
  const early = await cioRejection(caller.call('hold', undefined, { signal: controller.signal }))
  t.equal(early.code, codes.ABORTED, 'an already aborted signal fails at once')
  held.open(undefined)
})

bothWays('rpc - maxPendingCalls: one more call fails at once with TOO_MANY_PENDING', async (t, { caller, callee }) => {
  const held = gate()
  callee.on('hold', () => held.promise)
  const calls = [caller.call('hold'), caller.call('hold'), caller.call('hold')]
  const error = await cioRejection(caller.call('hold'))
  t.equal(error.code, codes.TOO_MANY_PENDING)
  t.equal(caller.pendingCalls, 3)
  held.open('done')
  t.same(await Promise.all(calls), ['done', 'done', 'done'])
  t.equal(await caller.call('hold'), 'done', 'room again once they settled')
}, { maxPendingCalls: 3 })

for (const closer of ['caller', 'callee'] as const) {
  bothWays(`rpc - the ${closer} closing rejects every pending call at once with DISCONNECTED`, async (t, { caller, callee }) => {
    callee.on('never', () => new Promise(() => {}))
    const calls = Array.from({ length: 5 }, () => cioRejection(caller.call('never')))
    await once(callee.framed, 'message')
    ;(closer === 'caller' ? caller : callee).socket.destroy()
    for (const error of await Promise.all(calls)) t.equal(error.code, codes.DISCONNECTED)
    t.equal(caller.closed, true)
    t.equal((await cioRejection(caller.call('never'))).code, codes.DISCONNECTED, 'and later calls fail at once')
  })
}

bothWays('rpc - rejections carry the stack of the code that called', async (t, { caller }) => {
  async function callSiteMarker(action: string): Promise<unknown> {
    return await caller.call(action)
  }
  const error = await cioRejection(callSiteMarker('nobody-answers-this'))
  t.match(error.stack, /^CioError: no handler for action "nobody-answers-this"\n/)
  t.match(error.stack, /at async callSiteMarker/, 'the awaiting caller is in the (async) stack')
  t.same(error.details, { action: 'nobody-answers-this', id: 1, remote: true })
  const refused = await cioRejection(callSiteMarker(''))
  t.match(refused.stack, /callSiteMarker/, 'a call refused at once has the caller in its stack too')
})

bothWays('rpc - unsendable bodies fail locally; unsendable answers become faults', async (t, { caller, callee }) => {
  const cycle: Record<string, unknown> = {}
  cycle.self = cycle
  callee.on('echo', (body) => body)
  callee.on('fn', () => () => 1)
  callee.on('cycle', () => cycle)
  callee.on('huge', () => 'x'.repeat(2048))
  callee.on('undefined', () => {
    throw undefined
  })
  t.equal((await cioRejection(caller.call('echo', () => 1))).code, codes.INVALID_MESSAGE, 'a function body')
  t.equal((await cioRejection(caller.call('echo', { n: 1n }))).code, codes.INVALID_MESSAGE, 'a BigInt body')
  t.equal((await cioRejection(caller.call('echo', 'x'.repeat(2048)))).code, codes.FRAME_TOO_LARGE, 'a body above maxFrameBytes')
  t.equal((await cioRejection(caller.call('fn'))).code, codes.INTERNAL_ERROR, 'a function result')
  t.equal((await cioRejection(caller.call('cycle'))).code, codes.INTERNAL_ERROR, 'a cyclic result')
  t.equal((await cioRejection(caller.call('huge'))).code, codes.FRAME_TOO_LARGE, 'a result above maxFrameBytes')
  t.equal((await cioRejection(caller.call('undefined'))).code, codes.INTERNAL_ERROR, 'a thrown undefined')
  t.equal(await caller.call('echo', 'fine'), 'fine', 'the connection is still up')
}, { maxFrameBytes: 1024 })

bothWays('rpc - handlers see the call and can call back the other side', async (t, { caller, callee }) => {
  caller.on('double', (n) => (n as number) * 2)
  callee.on('quadruple', async (n, call: RpcCall) => {
    t.equal(call.action, 'quadruple')
    t.equal(call.peer, callee)
    t.equal(call.socket, callee.socket)
    t.ok(Number.isSafeInteger(call.id) && call.id >= 1)
    return call.peer.call('double', await call.peer.call('double', n))
  })
  t.equal(await caller.call('quadruple', 5), 20)
})

t.test('rpc - one shared registry serves every server client; the peer event gives per-connection handlers', async (t) => {
  const handlers = new RpcHandlers()
  const order: string[] = []
  handlers.on('whoami', (_body, call) => (order.push('shared'), `conn ${String(call.peer.socket.remotePort)}`))
  const pair = await rpcPair(t, false, { handlers })
  pair.server.on('peer', (peer: RpcPeer) => peer.on('whoami', () => (order.push('own'), 'own answer')))
  t.equal(await pair.clientPeer.call('whoami'), `conn ${String(pair.client.localPort)}`, 'the first connection (before the listener) has the shared handler only')
  const more = await Promise.all([pair.connect(), pair.connect(), pair.connect()])
  for (const { clientPeer } of more) t.equal(await clientPeer.call('whoami'), 'own answer', 'shared runs first, own last')
  t.same(order, ['shared', 'shared', 'own', 'shared', 'own', 'shared', 'own'])
  t.equal(await more[0]?.serverPeer.call('whoami').catch((error: CioError) => error.code), codes.UNKNOWN_ACTION, "clients don't get the server's handlers")
})

t.test('rpc - attachRpc works on plain net sockets without the builder', async (t) => {
  const { clientPeer, serverPeer } = await netPair(t, { callTimeout: 5000 })
  serverPeer.on('add', (body) => {
    const { a, b } = body as { a: number; b: number }
    return a + b
  })
  t.equal(await clientPeer.call<number>('add', { a: 2, b: 3 }), 5)
  t.equal(serverPeer.callTimeout, 5000)
  t.equal(clientPeer.maxPendingCalls, 1024, 'the default maxPendingCalls')
})
