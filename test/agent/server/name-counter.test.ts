import t from 'tap'
import { NameCounter } from '../../../lib/agent/server/name-counter.js'
import { parseNameFormat } from '../../../lib/agent/names.js'
import { MemoryStore } from '../../../lib/agent/store.js'
import type { CioError } from '../../../lib/errors.js'

t.test('name counter - reads websocket-agent 1.2\'s { lastName }, continues after it and rewrites the store as { counter }', async (t) => {
  const store = new MemoryStore({ lastName: 'A0007' })
  const counter = new NameCounter(parseNameFormat('A####'), store, (error) => t.fail(error.message))
  await counter.loaded
  await counter.idle()
  t.same(await store.load(), { counter: 7 }, 'cio\'s format from then on')
  t.equal(counter.next(), 'A0008')
  t.ok(counter.known('A0007'))
})

t.test('name counter - { counter } wins over a stray lastName', async (t) => {
  const counter = new NameCounter(parseNameFormat('A#'), new MemoryStore({ counter: 2, lastName: 'A9' }), (error) => t.fail(error.message))
  await counter.loaded
  t.equal(counter.next(), 'A3')
})

t.test('name counter - a lastName the format does not produce is STORE_FAILED, and counting starts from 0', async (t) => {
  const errors: CioError[] = []
  const counter = new NameCounter(parseNameFormat('A####'), new MemoryStore({ lastName: 'B12' }), (error) => errors.push(error))
  await counter.loaded
  t.match(errors, [{ code: 'STORE_FAILED', message: /lastName "B12".*"A####"/ }])
  t.equal(counter.next(), 'A0001')
})
