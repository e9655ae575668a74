/**
 * Reads a cluster's live nodes and agents from Redis without joining it,
 * for people and for the `cio ls` command.
 */
import { CioError, codes, describeError } from '../errors.js'
import type { ClusterAgent, ClusterNodeInfo } from '../cluster/types.js'
import { openRedis } from './connection.js'
import { keyPrefix, parseAgents, parseNodes } from './engine.js'
import { checkRedisSource, DEFAULT_NAMESPACE, DEFAULT_REDIS_TIMEOUT, type RedisSource } from './options.js'
import { LIST_AGENTS, LIST_NODES } from './scripts.js'

/** What `inspectCluster` reads. */
export interface ClusterListing {
  nodes: ClusterNodeInfo[]
  agents: ClusterAgent[]
}

/** The live nodes and agents of the cluster in `namespace`; rejects `CLUSTER_UNAVAILABLE` when Redis cannot be read within `redisTimeout`. */
export async function inspectCluster(options: { redis: RedisSource; namespace?: string; redisTimeout?: number }): Promise<ClusterListing> {
  const source = checkRedisSource(options.redis, 'inspectCluster()')
  const prefix = keyPrefix(options.namespace ?? DEFAULT_NAMESPACE)
  const timeout = options.redisTimeout ?? DEFAULT_REDIS_TIMEOUT
  const redis = openRedis(source, timeout, 'cio-inspect')
  let failure: unknown
  redis.on('error', (error: unknown) => (failure = error))
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(failure ?? new Error(`no answer within ${timeout} ms`)), timeout)
      redis.once('ready', () => {
        clearTimeout(timer)
        resolve()
      })
    })
    const nodes = parseNodes((await redis.eval(LIST_NODES, 0, prefix, '')) as unknown[])
    const agents = parseAgents(await redis.eval(LIST_AGENTS, 0, prefix, ''))
    return { nodes, agents }
  } catch (error) {
    throw new CioError(codes.CLUSTER_UNAVAILABLE, `The cluster cannot be read from Redis: ${describeError(error)}.`, { cause: error })
  } finally {
    redis.disconnect()
  }
}
