/**
 * `cio/redis`: several agent servers sharing one agent namespace through
 * Redis, and a data store in Redis. The only entry of cio that loads a
 * Redis client (ioredis, an optional peer dependency).
 *
 *   import { AgentServer } from 'cio/agent'
 *   import { redisCluster } from 'cio/redis'
 *   new AgentServer({ secret, cluster: redisCluster({ redis: 'redis://127.0.0.1:6379' }) })
 */
import { ClusterNode } from '../cluster/node.js'
import type { ClusterLink } from '../cluster/types.js'
import { RedisEngine } from './engine.js'
import { resolveClusterOptions, type RedisClusterOptions } from './options.js'

/**
 * A cluster link for `new AgentServer({ cluster })`. Checks the options at
 * once (`INVALID_OPTION`); connects when the server starts. One per server.
 */
export function redisCluster(options: RedisClusterOptions): ClusterLink {
  const resolved = resolveClusterOptions(options)
  return new ClusterNode(new RedisEngine(resolved), resolved)
}

export { RedisStore } from './store.js'
export { inspectCluster } from './inspect.js'
export type { ClusterListing } from './inspect.js'
export { keyPrefix } from './engine.js'
export type { RedisClusterOptions, RedisStoreOptions, RedisSource } from './options.js'
export { DEFAULT_NAMESPACE, DEFAULT_CLUSTER_HEARTBEAT, DEFAULT_NODE_TIMEOUT, DEFAULT_REDIS_TIMEOUT, DEFAULT_MAX_MESSAGE_BYTES } from './options.js'
export type { ClusterLink, ClusterAgent, ClusterNodeInfo, ClusterStats } from '../cluster/types.js'
export { CioError, codes, isCioError } from '../errors.js'
