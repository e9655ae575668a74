import t from 'tap'
import { NameCounter } from '../../../lib/agent/server/name-counter.js'
import { parseNameFormat } from '../../../lib/agent/names.js'
import { MemoryStore, type DataStore, type StoreDoc } from '../../../lib/agent/store.js'
import { codes, type CioError } from '../../../lib/errors.js'
import { gate } from '../../helpers/agents.js'

const FORMAT = parseNameFormat('A#')

/** A counter over `store`, with the errors it reports collected. */
function counterOver(store: DataStore<StoreDoc> | undefined): { counter: NameCounter; errors: CioError[] } {
  const errors: CioError[] = []
  return { counter: new NameCounter(FORMAT, store, (error) => errors.push(error)), errors }
}

t.test('name-counter - without a store it counts from 1 and saving is a no-op', async (t) => {
  const { counter, errors } = counterOver(undefined)
  await counter.loaded
  t.same([counter.next(), counter.next()], ['A1', 'A2'])
  await counter.persist()
  await counter.idle()
  t.same(errors, [])
})

t.test('name-counter - a stored counter is loaded, and naming goes on past it', async (t) => {
  const { counter, errors } = counterOver(new MemoryStore({ counter: 5 }))
  await counter.loaded
  t.equal(counter.next(), 'A6')
  t.same(errors, [])
})

t.test('name-counter - a name agents come back with moves the counter past it; known names are those given or seen', async (t) => {
  const { counter } = counterOver(undefined)
  await counter.loaded
  t.equal(counter.next(), 'A1')
  t.equal(counter.observe('A7'), true, 'a name of ours past the counter: time to save')
  t.equal(counter.observe('A3'), false, 'one below it changes nothing')
  t.equal(counter.observe('old-agent'), false, 'a foreign name never moves the counter')
  t.equal(counter.next(), 'A8', 'A7 is never handed out again')
  for (const name of ['A1', 'A5', 'A8', 'old-agent']) t.ok(counter.known(name), `${name} is known`)
  for (const name of ['A9', 'other-agent']) t.notOk(counter.known(name), `${name} is not`)
})

t.test('name-counter - a store that fails to load is reported as STORE_FAILED, and naming starts from 0', async (t) => {
  const failing: DataStore<StoreDoc> = { save: async () => {}, load: async () => Promise.reject(new Error('disk gone')) }
  const { counter, errors } = counterOver(failing)
  await counter.loaded
  t.match(errors, [{ code: codes.STORE_FAILED, message: /agent server's data store failed to load: disk gone/, details: { action: 'load' } }])
  t.equal(counter.next(), 'A1')
})

t.test('name-counter - a stored counter that is not a whole number of at least 0 is reported, not trusted', async (t) => {
  for (const doc of [{ counter: -1 }, { counter: 1.5 }, { counter: '7' }, { counter: 2 ** 60 }]) {
    const { counter, errors } = counterOver(new MemoryStore<StoreDoc>(doc))
    await counter.loaded
    t.match(errors, [{ code: codes.STORE_FAILED, message: /it holds no valid counter/, details: { action: 'load' } }], JSON.stringify(doc))
    t.equal(counter.next(), 'A1')
  }
})

t.test('name-counter - saves asked for while one runs share the next one: two saves for many callers', async (t) => {
  const saved: StoreDoc[] = []
  let held = gate<void>()
  const store: DataStore<StoreDoc> = {
    load: async () => undefined,
    save: async (doc) => {
      saved.push(doc)
      await held.promise
    },
  }
  const { counter, errors } = counterOver(store)
  await counter.loaded
  counter.next()
  const first = counter.persist()
  await new Promise((resolve) => setImmediate(resolve))
  t.same(saved, [{ counter: 1 }], 'the first save has started and is held')
  for (let i = 0; i < 50; i++) counter.next()
  const waiting = Array.from({ length: 50 }, () => counter.persist())
  t.equal(new Set(waiting).size, 1, 'every caller during the running save gets the same queued save')
  t.not(waiting[0], first)
  held.open()
  held = gate<void>()
  await first
  // the queued save starts once the first has finished, with the counter as it is then
  held.open()
  await Promise.all(waiting)
  await counter.idle()
  t.same(saved, [{ counter: 1 }, { counter: 51 }])
  t.same(errors, [])
})

t.test('name-counter - a failing save is reported and never rejects', async (t) => {
  const store: DataStore<StoreDoc> = { load: async () => undefined, save: async () => Promise.reject(new Error('read-only')) }
  const { counter, errors } = counterOver(store)
  await counter.loaded
  counter.next()
  await counter.persist()
  t.match(errors, [{ code: codes.STORE_FAILED, message: /failed to save: read-only/, details: { action: 'save' } }])
  await counter.persist()
  t.equal(errors.length, 2, 'the next save is tried again')
})

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
