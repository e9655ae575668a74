import t from 'tap'
import { Redis } from 'ioredis'
import { codes, CioError } from '../../lib/errors.js'
import { RedisStore } from '../../lib/redis/index.js'
import { needRedis, startRedis } from '../helpers/redis.js'

t.test('redis store - saves and loads a JSON document, copies only, no prototype keys', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const store = new RedisStore({ redis: redis.path, key: 'agent:doc' })
  t.teardown(() => store.close())
  t.equal(await store.load(), undefined, 'nothing saved yet')
  await store.save({ name: 'A7', counter: 3 })
  t.same(await store.load(), { name: 'A7', counter: 3 })
  const raw = new Redis({ path: redis.path })
  t.teardown(() => raw.disconnect())
  await raw.set('agent:doc', '{"name":"A1","__proto__":{"polluted":true}}')
  const loaded = (await store.load()) as Record<string, unknown>
  t.equal(Object.hasOwn(loaded, '__proto__'), false, '__proto__ dropped on load')
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  await raw.set('agent:doc', '[1,2]')
  await t.rejects(store.load(), { code: codes.STORE_FAILED }, 'a value that is not a JSON object: STORE_FAILED')
  await t.rejects(store.save([] as never), { code: codes.INVALID_ARGUMENT }, 'saving a non-object: INVALID_ARGUMENT')
})

t.test('redis store - Redis unreachable: STORE_FAILED within redisTimeout, never a hang', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const store = new RedisStore({ redis: redis.path, key: 'k', redisTimeout: 300 })
  t.teardown(() => store.close())
  await store.save({ a: 1 })
  await redis.kill()
  const error = (await store.load().catch((e: unknown) => e)) as CioError
  t.equal(error.code, codes.STORE_FAILED)
  t.equal(error.details.key, 'k')
  const saving = (await store.save({ a: 2 }).catch((e: unknown) => e)) as CioError
  t.equal(saving.code, codes.STORE_FAILED)
})
