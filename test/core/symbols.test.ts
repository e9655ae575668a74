import { once } from 'node:events'
import net from 'node:net'
import t from 'tap'
import * as symbols from '../../lib/core/symbols.js'
import { kFramed, kGuardServer, kPeer } from '../../lib/core/symbols.js'
import { framedOf } from '../../lib/frame/framed-socket.js'
import { attachRpc, peerOf } from '../../lib/rpc/peer.js'
import { listenLocal, track } from '../helpers/net.js'

t.test('symbols - every per-socket key is its own symbol, named under cio.', async (t) => {
  const keys = Object.entries(symbols)
  t.ok(keys.length > 0)
  for (const [name, key] of keys) {
    t.equal(typeof key, 'symbol', name)
    t.match((key as symbol).description, /^cio\./, `${name} says it is cio's in a heap snapshot`)
  }
  t.equal(new Set(keys.map(([, key]) => key)).size, keys.length, 'no two exports are the same key')
  t.equal(new Set(keys.map(([, key]) => (key as symbol).description)).size, keys.length, 'nor share a description')
})

t.test('symbols - a framed RPC socket keeps its state under these keys, and adds no string key', async (t) => {
  const server = net.createServer()
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const port = await listenLocal(t, server)
  const client = track(t, net.connect({ port, host: '127.0.0.1' }))
  await accepted
  const before = Object.keys(client)
  const peer = attachRpc(client)
  const held = client as net.Socket & { [kFramed]?: unknown; [kPeer]?: unknown; [kGuardServer]?: unknown }
  t.equal(held[kPeer], peer)
  t.equal(peerOf(client), peer)
  t.equal(held[kFramed], framedOf(client))
  t.equal(held[kFramed], peer.framed)
  t.equal(held[kGuardServer], null, 'a client socket is guarded, with no server to report to')
  t.same(Object.keys(client), before, 'no string key is added to the socket')
})
