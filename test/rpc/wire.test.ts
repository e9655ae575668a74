import { once } from 'node:events'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { codes, type CioError } from '../../lib/errors.js'
import { RpcHandlers } from '../../lib/rpc/handlers.js'
import { attachRpc } from '../../lib/rpc/peer.js'
import { attachFramed } from '../../lib/frame/framed-socket.js'
import { resolveRpcOptions } from '../../lib/rpc/options.js'
import { cioRejection, closed, HOSTILE_FRAMES, rawConnect, RawReader, rawFrame, writeValue } from '../helpers/framing.js'
import { thrown } from '../helpers/errors.js'
import { listenLocal, track } from '../helpers/net.js'
import { testCerts } from '../helpers/certs.js'
import { cioRpcClient, rpcPair } from '../helpers/rpc.js'

const MALFORMED: ReadonlyArray<[string, string]> = [
  ['an array', '[1,2]'],
  ['a number', '42'],
  ['a string', '"hello"'],
  ['null', 'null'],
  ['an empty object', '{}'],
  ['id 0', '{"id":0,"action":"echo"}'],
  ['a fractional id', '{"id":1.5,"action":"echo"}'],
  ['a string id', '{"id":"1","action":"echo"}'],
  ['an unsafe id', '{"id":9007199254740992,"action":"echo"}'],
  ['an empty action', '{"id":1,"action":""}'],
  ['a numeric action', '{"id":1,"action":5}'],
  ['a request with a result', '{"id":1,"action":"echo","result":1}'],
  ['a response with result and error', '{"id":1,"result":1,"error":2}'],
  ['a string fault', '{"id":1,"fault":"bad"}'],
  ['a fault without a code', '{"id":1,"fault":{"message":"m"}}'],
  ['a fault without a message', '{"id":1,"fault":{"code":"X"}}'],
]

async function hostileServer(t: Test, secure = false) {
  const handlers = new RpcHandlers().on('echo', (body) => body)
  const pair = await rpcPair(t, secure, { handlers })
  const reported: Array<[CioError, net.Socket]> = []
  pair.server.on('protocolError', (error: CioError, socket: net.Socket) => reported.push([error, socket]))
  const rawOptions = secure ? { ca: (await testCerts()).ca.cert, servername: 'localhost' } : false
  return { ...pair, reported, raw: () => rawConnect(t, pair.port, rawOptions) }
}

for (const secure of [false, true]) {
  const transport = secure ? 'TLS' : 'TCP'
  t.test(`rpc wire - each malformed message earns INVALID_MESSAGE, closes that connection, and spares the others (${transport})`, async (t) => {
    const { clientPeer, reported, raw } = await hostileServer(t, secure)
    for (const [name, json] of MALFORMED) {
      const socket = await raw()
      socket.write(rawFrame(json))
      await closed(socket)
      t.equal(reported.at(-1)?.[0].code, codes.INVALID_MESSAGE, name)
      t.equal(await clientPeer.call('echo', name), name, `${name}: the good connection still works`)
    }
    t.equal(reported.length, MALFORMED.length, 'one report each')
    t.match(reported[0]?.[0].message, /must be a JSON object/, 'the message says why')
  })

  t.test(`rpc wire - hostile frames are reported by the RPC server as well (${transport})`, async (t) => {
    const { clientPeer, reported, raw } = await hostileServer(t, secure)
    for (const { name, bytes, code } of HOSTILE_FRAMES) {
      const socket = await raw()
      socket.write(bytes)
      await closed(socket)
      t.equal(reported.at(-1)?.[0].code, code, name)
      t.equal(await clientPeer.call('echo', 1), 1, `${name}: the good connection still works`)
    }
  })
}

t.test('rpc wire - responses are exactly the documented shapes', async (t) => {
  const handlers = new RpcHandlers()
    .on('echo', (body) => body)
    .on('nothing', () => undefined)
    .on('throws', () => {
      throw { code: 'E' }
    })
    .on('fails', () => {
      throw new Error('broken')
    })
    .on('keys', (body) => [Object.keys(body as object), (body as { admin?: unknown }).admin ?? 'no admin'])
  const { port } = await rpcPair(t, false, { handlers })
  const raw = await rawConnect(t, port)
  const reader = new RawReader(raw)
  const exchange = async (request: string): Promise<unknown> => {
    raw.write(rawFrame(request))
    return reader.next()
  }
  t.same(await exchange('{"id":1,"action":"echo","body":{"x":[1,"€"]}}'), { id: 1, result: { x: [1, '€'] } })
  t.same(await exchange('{"id":2,"action":"nothing"}'), { id: 2 }, 'no result key when the handler returned nothing')
  t.same(await exchange('{"id":3,"action":"throws"}'), { id: 3, error: { code: 'E' } })
  t.same(await exchange('{"id":4,"action":"fails"}'), { id: 4, fault: { code: 'INTERNAL_ERROR', message: 'broken' } })
  t.same(await exchange('{"id":5,"action":"missing"}'), { id: 5, fault: { code: 'UNKNOWN_ACTION', message: 'no handler for action "missing"' } })
  t.same(await exchange('{"id":6,"action":"echo","body":1,"extension":true}'), { id: 6, result: 1 }, 'unknown keys are ignored')
  t.same(await exchange('{"id":6,"action":"echo","body":2}'), { id: 6, result: 2 }, 'ids are the caller’s business')
  t.same(await exchange('{"id":7,"action":"keys","body":{"__proto__":{"admin":true}}}'), { id: 7, result: [['__proto__'], 'no admin'] }, '__proto__ stays a plain key')
  raw.write(rawFrame('{"id":999,"result":"nobody asked"}'))
  t.same(await exchange('{"id":8,"action":"echo","body":"still open"}'), { id: 8, result: 'still open' }, 'a response to no call is dropped')
  t.equal(({} as { admin?: unknown }).admin, undefined, 'Object.prototype untouched')
})

t.test('rpc wire - requests from a cio client, answered by a hand-written peer', async (t) => {
  const server = net.createServer()
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const port = await listenLocal(t, server)
  const { peer } = cioRpcClient(t, port)
  const [socket] = await accepted
  const reader = new RawReader(socket)
  const first = peer.call('ping', { n: 1 })
  t.same(await reader.next(), { id: 1, action: 'ping', body: { n: 1 }, timeout: 30000 }, 'ids start at 1; the wait of the caller travels')
  writeValue(socket, { id: 1, fault: { code: 'WEIRD_CODE', message: 'from elsewhere' } })
  const weird = await cioRejection(first)
  t.equal(weird.code, codes.INTERNAL_ERROR, 'an unknown fault code becomes INTERNAL_ERROR')
  t.same(weird.details, { action: 'ping', id: 1, remote: true, remoteCode: 'WEIRD_CODE' })
  const second = peer.call('ping')
  t.same(await reader.next(), { id: 2, action: 'ping', timeout: 30000 }, 'no body key without a body')
  writeValue(socket, { id: 2, error: 'plain' })
  t.equal(await second.catch((error: unknown) => error), 'plain')
  const third = peer.call('ping', null)
  t.same(await reader.next(), { id: 3, action: 'ping', body: null, timeout: 30000 })
  writeValue(socket, { id: 3, result: [1] })
  t.same(await third, [1])
})

t.test('rpc wire - a hostile server closes the cio client; its pending calls fail with DISCONNECTED caused by it', async (t) => {
  const server = net.createServer((socket) => socket.once('data', () => socket.write(rawFrame('{"id":"x"}'))))
  const port = await listenLocal(t, server)
  const { client, peer } = cioRpcClient(t, port)
  const errors: CioError[] = []
  peer.framed.on('protocolError', (error) => errors.push(error))
  const error = await cioRejection(peer.call('anything'))
  t.equal(error.code, codes.DISCONNECTED)
  t.equal((error.cause as CioError).code, codes.INVALID_MESSAGE, 'the cause is the protocol error')
  t.equal(errors[0]?.code, codes.INVALID_MESSAGE)
  t.equal(client.destroyed, true)
})

t.test('rpc options - bad options and arguments are refused with codes that name them', async (t) => {
  for (const [options, option] of [
    [{ callTimeout: -1 }, 'callTimeout'],
    [{ callTimeout: '5' }, 'callTimeout'],
    [{ maxPendingCalls: 0 }, 'maxPendingCalls'],
    [{ maxPendingCalls: 1.5 }, 'maxPendingCalls'],
    [{ maxIncomingCalls: 0 }, 'maxIncomingCalls'],
    [{ handlers: { on() {} } }, 'handlers'],
    [{ maxMetaBytes: -1 }, 'maxMetaBytes'],
    [{ interceptors: 'x' }, 'interceptors'],
    [{ interceptors: { call: 1 } }, 'interceptors'],
    [{ propagateDeadlines: 'no' }, 'propagateDeadlines'],
  ] as const) {
    const error = thrown(() => resolveRpcOptions(options as never))
    t.equal(error.code, codes.INVALID_OPTION, option)
    t.equal(error.details.option, option)
  }
  t.same(resolveRpcOptions({}), { handlers: [], callTimeout: 30_000, maxPendingCalls: 1024, maxIncomingCalls: 1024, maxMetaBytes: 4096, propagateDeadlines: true, interceptors: undefined }, 'the defaults')
  const socket = track(t, new net.Socket())
  t.equal(thrown(() => attachRpc(socket, { maxFrameBytes: 0 })).code, codes.INVALID_OPTION)
  const peer = attachRpc(track(t, new net.Socket()))
  t.equal((await cioRejection(peer.call(''))).code, codes.INVALID_ARGUMENT, 'an empty action')
  t.equal((await cioRejection(peer.call(5 as unknown as string))).code, codes.INVALID_ARGUMENT, 'a non-string action')
  t.equal((await cioRejection(peer.call('a', 1, { timeout: -5 }))).code, codes.INVALID_ARGUMENT, 'a negative timeout')
  t.equal((await cioRejection(peer.call('a'))).code, codes.DISCONNECTED, 'a socket that is not connected')
  t.equal(attachRpc(peer.socket), peer, 'attachRpc is idempotent')
})

t.test('rpc handlers - registration is checked, and off/handles work', async (t) => {
  const handlers = new RpcHandlers()
  t.equal(thrown(() => handlers.on('', () => 1)).code, codes.INVALID_ARGUMENT)
  t.equal(thrown(() => handlers.on('a', 'nope' as never)).code, codes.INVALID_ARGUMENT)
  t.equal(thrown(() => handlers.on(42 as never)).code, codes.INVALID_ARGUMENT)
  t.equal(thrown(() => handlers.on({ good: () => 1, bad: 3 } as never)).code, codes.INVALID_ARGUMENT)
  t.equal(handlers.handles('good'), false, 'a bad map adds nothing')
  const fn = (): number => 1
  const all = (): number => 2
  handlers.on('a', fn)
  t.equal(handlers.handles('a'), true)
  t.equal(handlers.off('a', fn), true)
  t.equal(handlers.off('a', fn), false)
  t.equal(handlers.handles('a'), false)
  handlers.on(all)
  t.equal(handlers.handles('anything'), true, 'a catch-all handles everything')
  t.equal(handlers.off(all), true)
  t.equal(handlers.handles('anything'), false)
})

t.test('rpc wire - a framed socket that already has listeners keeps them ahead of the peer; the close still fails pending calls', async (t) => {
  const server = net.createServer()
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const port = await listenLocal(t, server)
  const client = track(t, net.connect({ port, host: '127.0.0.1' }))
  const framed = attachFramed(client)
  const seen: string[] = []
  framed.on('message', () => seen.push('message'))
  framed.on('close', () => seen.push('close'))
  const clientPeer = attachRpc(client)
  const [socket] = await accepted
  const serverPeer = attachRpc(socket)
  serverPeer.on('echo', (body) => body)
  t.equal(await clientPeer.call('echo', 7), 7)
  t.same(seen, ['message'], 'the earlier listener heard the response')
  serverPeer.on('never', () => new Promise(() => {}))
  const lost = clientPeer.call('never').catch((error: CioError) => error.code)
  await sleep(10)
  socket.destroy()
  t.equal(await lost, codes.DISCONNECTED)
  t.same(seen, ['message', 'close'])
  t.equal(framed.listenerCount('message'), 1, "the peer's listeners are gone, the user's stay")
})
