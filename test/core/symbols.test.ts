import net from 'node:net'
import t from 'tap'
import { socketSlot } from '../../lib/core/symbols.js'

t.test('symbols - a slot reads undefined until set, then what was set, per socket', async (t) => {
  const slot = socketSlot<{ n: number }>('test.slot')
  const one = new net.Socket()
  const two = new net.Socket()
  t.equal(slot.get(one), undefined)
  const value = { n: 1 }
  slot.set(one, value)
  t.equal(slot.get(one), value, 'the very object set')
  t.equal(slot.get(two), undefined, 'another socket has its own')
  slot.set(one, { n: 2 })
  t.same(slot.get(one), { n: 2 }, 'set again replaces it')
})

t.test('symbols - slots are independent, even with the same description', async (t) => {
  const a = socketSlot<string>('same')
  const b = socketSlot<string>('same')
  const socket = new net.Socket()
  a.set(socket, 'a')
  t.equal(b.get(socket), undefined)
  b.set(socket, 'b')
  t.same([a.get(socket), b.get(socket)], ['a', 'b'])
})

t.test('symbols - the state sits under a symbol: no string key, nothing a user of the socket meets', async (t) => {
  const socket = new net.Socket()
  const keys = Object.keys(socket)
  const names = Object.getOwnPropertyNames(socket)
  socketSlot<number>('test.hidden').set(socket, 7)
  t.same(Object.keys(socket), keys, 'no new enumerable string key')
  t.same(Object.getOwnPropertyNames(socket), names, 'no new string key at all')
  const added = Object.getOwnPropertySymbols(socket).filter((key) => key.description === 'test.hidden')
  t.equal(added.length, 1, 'one symbol, named by the description')
})
