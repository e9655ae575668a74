import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { codes, CioError } from '../../lib/errors.js'
import { redisCluster, RedisStore } from '../../lib/redis/index.js'
import { AgentServer } from '../../lib/agent/server/agent-server.js'
import { SECRET } from '../helpers/agents.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** Imports `entry` in a fresh Node and says whether any ioredis module was loaded. */
function loadsIoredis(entry: string): Promise<boolean> {
  const code = `import { createRequire } from 'node:module'
await import(${JSON.stringify(entry)})
const cache = createRequire(import.meta.url).cache
console.log(Object.keys(cache).some((file) => file.includes('/node_modules/ioredis/')))`
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '--eval', code], { cwd: root, timeout: 20_000 }, (error, stdout) => (error === null ? resolve(stdout.trim() === 'true') : reject(error)))
  })
}

t.test('redis entry - cio and cio/agent load no Redis client; cio/redis does', async (t) => {
  t.equal(await loadsIoredis('cio'), false, 'cio')
  t.equal(await loadsIoredis('cio/agent'), false, 'cio/agent')
  t.equal(await loadsIoredis('cio/redis'), true, 'cio/redis (the check can see it)')
})

function invalidOption(t: Test, make: () => unknown, option: string): void {
  try {
    make()
    t.fail(`expected INVALID_OPTION for ${option}`)
  } catch (error) {
    t.equal((error as CioError).code, codes.INVALID_OPTION, `${option}: ${(error as Error).message}`)
    t.equal((error as CioError).details.option, option)
  }
}

t.test('redis entry - redisCluster checks its options at construction', async (t) => {
  const redis = 'redis://127.0.0.1:1'
  invalidOption(t, () => redisCluster({} as never), 'redis')
  invalidOption(t, () => redisCluster({ redis: 'http://x' }), 'redis')
  invalidOption(t, () => redisCluster({ redis: 42 } as never), 'redis')
  invalidOption(t, () => redisCluster({ redis, namespace: 'a{b}' }), 'namespace')
  invalidOption(t, () => redisCluster({ redis, namespace: '' }), 'namespace')
  invalidOption(t, () => redisCluster({ redis, nodeName: 'a~b' }), 'nodeName')
  invalidOption(t, () => redisCluster({ redis, nodeName: 'a b' }), 'nodeName')
  invalidOption(t, () => redisCluster({ redis, heartbeatInterval: 0 }), 'heartbeatInterval')
  invalidOption(t, () => redisCluster({ redis, heartbeatInterval: 1000, nodeTimeout: 2000 }), 'nodeTimeout')
  invalidOption(t, () => redisCluster({ redis, redisTimeout: -1 }), 'redisTimeout')
  invalidOption(t, () => redisCluster({ redis, maxMessageBytes: 10 }), 'maxMessageBytes')
  invalidOption(t, () => redisCluster({ redis, colour: 'red' } as never), 'colour')
  t.throws(() => redisCluster(null as never), { code: codes.INVALID_ARGUMENT })
  invalidOption(t, () => new AgentServer({ secret: SECRET, port: 0, cluster: {} as never }), 'cluster')
  t.ok(redisCluster({ redis: '/tmp/redis.sock', heartbeatInterval: 100 }), 'a socket path, and nodeTimeout follows a short heartbeat')
  t.ok(redisCluster({ redis: { host: '127.0.0.1', port: 1 } }), 'ioredis options')
})

t.test('redis entry - RedisStore checks its options', async (t) => {
  invalidOption(t, () => new RedisStore({ redis: 'redis://x' } as never), 'key')
  invalidOption(t, () => new RedisStore({ key: 'k' } as never), 'redis')
  invalidOption(t, () => new RedisStore({ redis: 'redis://x', key: 'k', redisTimeout: 0 }), 'redisTimeout')
  t.throws(() => new RedisStore(undefined as never), { code: codes.INVALID_ARGUMENT })
})

t.test('redis entry - one link serves one server', async (t) => {
  const link = redisCluster({ redis: 'redis://127.0.0.1:1', redisTimeout: 200 })
  const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', cluster: link })
  t.teardown(() => server.close())
  invalidOption(t, () => new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', cluster: link }), 'cluster')
})
