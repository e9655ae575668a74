import t from 'tap'
import { Claim, MAX_CLAIM_JUMP, NameCounter } from '../../../lib/agent/server/name-counter.js'
import { parseNameFormat } from '../../../lib/agent/names.js'
import { MemoryStore, type DataStore, type StoreDoc } from '../../../lib/agent/store.js'
import { codes, type CioError } from '../../../lib/errors.js'
import { gate } from '../../helpers/agents.js'

const FORMAT = parseNameFormat('A#')

/** A counter over `store`, with the errors it reports collected. */
function counterOver(store: DataStore<StoreDoc> | undefined): { counter: NameCounter; errors: CioError[] } {
  const errors: CioError[] = []
  return { counter: new NameCounter(FORMAT, store, (error) => errors.push(error), 1000), errors }
}

t.test('name-counter - without a store it counts from 1 and saving is a no-op', async (t) => {
  const { counter, errors } = counterOver(undefined)
  t.equal(await counter.ready(), true)
  t.same([counter.next(), counter.next()], ['A1', 'A2'])
  await counter.persist()
  await counter.idle()
  t.same(errors, [])
})

t.test('name-counter - a stored counter is loaded, and naming goes on past it', async (t) => {
  const { counter, errors } = counterOver(new MemoryStore({ counter: 5 }))
  t.equal(await counter.ready(), true)
  t.equal(counter.next(), 'A6')
  t.same(errors, [])
})

t.test('name-counter - without a store a name agents come back with moves the counter past it, by a bounded jump; known names are those given or seen', async (t) => {
  const { counter } = counterOver(undefined)
  t.equal(await counter.ready(), true)
  t.equal(counter.next(), 'A1')
  t.equal(counter.claim('A7'), Claim.MOVED, 'a name of ours past the counter: time to save')
  t.equal(counter.claim('A3'), Claim.KEEP, 'one below it changes nothing')
  t.equal(counter.claim('old-agent'), Claim.KEEP, 'a foreign name never moves the counter')
  t.equal(counter.claim(`A${8 + MAX_CLAIM_JUMP}`), Claim.RENAME, 'too far ahead: renamed, the counter stays')
  t.equal(counter.next(), 'A8', 'A7 is never handed out again')
  for (const name of ['A1', 'A5', 'A8', 'old-agent']) t.ok(counter.known(name), `${name} is known`)
  for (const name of ['A9', 'other-agent']) t.notOk(counter.known(name), `${name} is not`)
})

t.test('name-counter - a store that fails to load is reported as STORE_FAILED and gives no name; claims below a jump are kept and passed once it loads', async (t) => {
  let fail = true
  const failing: DataStore<StoreDoc> = { save: async () => {}, load: async () => (fail ? Promise.reject(new Error('disk gone')) : { counter: 3 }) }
  const { counter, errors } = counterOver(failing)
  t.equal(await counter.ready(), false)
  t.match(errors, [{ code: codes.STORE_FAILED, message: /agent server's data store failed to load: disk gone/, details: { action: 'load' } }])
  t.throws(() => counter.next(), { code: codes.STORE_FAILED }, 'no new name, rather than A1 again')
  t.equal(counter.claim('A9'), Claim.KEEP, 'an agent coming back is kept')
  t.equal(counter.claim(`A${10 + MAX_CLAIM_JUMP}`), Claim.RENAME)
  t.equal(await counter.ready(), false, 'not retried within a second')
  fail = false
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.equal(await counter.ready(), true, 'retried after a second: loaded')
  t.equal(counter.next(), 'A10', 'past the name claimed meanwhile, not only past the stored counter')
})

t.test('name-counter - a stored counter that is not a whole number of at least 0 is reported, not trusted', async (t) => {
  for (const doc of [{ counter: -1 }, { counter: 1.5 }, { counter: '7' }, { counter: 2 ** 60 }]) {
    const { counter, errors } = counterOver(new MemoryStore<StoreDoc>(doc))
    t.equal(await counter.ready(), false)
    t.match(errors, [{ code: codes.STORE_FAILED, message: /it holds no valid counter/, details: { action: 'load' } }], JSON.stringify(doc))
    t.throws(() => counter.next(), { code: codes.STORE_FAILED })
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
  t.equal(await counter.ready(), true)
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

t.test('name-counter - a failing save is reported and rejects, so the name it covers is not used', async (t) => {
  const store: DataStore<StoreDoc> = { load: async () => undefined, save: async () => Promise.reject(new Error('read-only')) }
  const { counter, errors } = counterOver(store)
  t.equal(await counter.ready(), true)
  counter.next()
  await t.rejects(counter.persist(), { code: codes.STORE_FAILED })
  t.match(errors, [{ code: codes.STORE_FAILED, message: /failed to save: read-only/, details: { action: 'save' } }])
  await t.rejects(counter.persist(), { code: codes.STORE_FAILED })
  t.equal(errors.length, 2, 'the next save is tried again')
  await counter.idle()
})

t.test('name-counter - with a healthy store, a claim past the counter is renamed, not followed', async (t) => {
  const { counter } = counterOver(new MemoryStore({ counter: 5 }))
  t.equal(await counter.ready(), true)
  t.equal(counter.claim('A9007199254740990'), Claim.RENAME)
  t.equal(counter.claim('A5'), Claim.KEEP)
  t.equal(counter.next(), 'A6')
})

t.test('name counter - reads websocket-agent 1.2\'s { lastName }, continues after it and rewrites the store as { counter }', async (t) => {
  const store = new MemoryStore({ lastName: 'A0007' })
  const counter = new NameCounter(parseNameFormat('A####'), store, (error) => t.fail(error.message), 1000)
  t.equal(await counter.ready(), true)
  await counter.idle()
  t.same(await store.load(), { counter: 7 }, 'cio\'s format from then on')
  t.equal(counter.next(), 'A0008')
  t.ok(counter.known('A0007'))
})

t.test('name counter - { counter } wins over a stray lastName', async (t) => {
  const counter = new NameCounter(parseNameFormat('A#'), new MemoryStore({ counter: 2, lastName: 'A9' }), (error) => t.fail(error.message), 1000)
  t.equal(await counter.ready(), true)
  t.equal(counter.next(), 'A3')
})

t.test('name counter - a lastName the format does not produce is STORE_FAILED, and no name is given out', async (t) => {
  const errors: CioError[] = []
  const counter = new NameCounter(parseNameFormat('A####'), new MemoryStore({ lastName: 'B12' }), (error) => errors.push(error), 1000)
  t.equal(await counter.ready(), false)
  t.match(errors, [{ code: 'STORE_FAILED', message: /lastName "B12".*"A####"/ }])
  t.throws(() => counter.next(), { code: 'STORE_FAILED' })
})
