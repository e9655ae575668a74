import t from 'tap'
import { AgentNameStore } from '../../../lib/agent/client/name-store.js'
import { MemoryStore } from '../../../lib/agent/store.js'
import type { CioError } from '../../../lib/errors.js'

t.test('agent name store - reads cio\'s { name } and saves nothing new while the name stays', async (t) => {
  const store = new MemoryStore({ name: 'A0003' })
  const names = new AgentNameStore(store, (error) => t.fail(error.message))
  t.equal(await names.load(), 'A0003')
  names.save('A0003')
  await names.idle()
  t.same(await store.load(), { name: 'A0003' })
})

t.test('agent name store - reads websocket-agent 1.2\'s { id } and rewrites it as { name } at the next save', async (t) => {
  const store = new MemoryStore({ id: 'A0003' })
  const names = new AgentNameStore(store, (error) => t.fail(error.message))
  t.equal(await names.load(), 'A0003', 'the name is kept across the migration')
  names.save('A0003')
  await names.idle()
  t.same(await store.load(), { name: 'A0003' })
})

t.test('agent name store - an invalid legacy id is STORE_FAILED and no name', async (t) => {
  const errors: CioError[] = []
  const names = new AgentNameStore(new MemoryStore({ id: '../etc' }), (error) => errors.push(error))
  t.equal(await names.load(), undefined)
  t.match(errors, [{ code: 'STORE_FAILED', message: /invalid agent name/ }])
})
