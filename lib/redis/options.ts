/**
 * Options of `redisCluster()` and `RedisStore`, their defaults, and the
 * checks made at construction (`INVALID_OPTION` naming the option).
 */
import { Redis, type RedisOptions } from 'ioredis'
import { CioError, codes } from '../errors.js'
import { checkMs } from '../agent/options.js'
import type { ClusterNodeOptions } from '../cluster/node.js'

/** Where Redis is: a URL (`redis://`, `rediss://`), a unix socket path, ioredis options, or an ioredis client (cio duplicates it). */
export type RedisSource = string | RedisOptions | Redis

/** Options of `redisCluster(options)`. Only `redis` is required. */
export interface RedisClusterOptions {
  /** Where Redis is. Required. cio forces its own safe settings on its connections (no offline queue, no re-sent commands). */
  redis: RedisSource
  /** Separates clusters sharing one Redis: keys start with `cio:{<namespace>}:`. @default 'cio' */
  namespace?: string
  /** This node's name in listings and events; its id adds `~` and 8 random characters. @default `<hostname>:<pid>` */
  nodeName?: string
  /** Milliseconds between lease renewals. @default 1000 */
  heartbeatInterval?: number
  /** Milliseconds without renewal after which a node counts as lost; at least 3 heartbeats. @default 5000 */
  nodeTimeout?: number
  /** Milliseconds any one Redis command may take before it fails (`CLUSTER_UNAVAILABLE`). @default 2000 */
  redisTimeout?: number
  /** Largest message between nodes, in bytes; larger calls are refused, larger answers split or replaced by a fault. @default 1048576 */
  maxMessageBytes?: number
}

/** The options once checked. */
export interface ResolvedClusterOptions extends ClusterNodeOptions {
  redis: RedisSource
  namespace: string
  redisTimeout: number
}

export const DEFAULT_NAMESPACE = 'cio'
export const DEFAULT_CLUSTER_HEARTBEAT = 1000
export const DEFAULT_NODE_TIMEOUT = 5000
export const DEFAULT_REDIS_TIMEOUT = 2000
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024
const MIN_MESSAGE_BYTES = 4096

const NAME = /^[A-Za-z0-9._:-]{1,100}$/
const CLUSTER_KEYS = new Set(['redis', 'namespace', 'nodeName', 'heartbeatInterval', 'nodeTimeout', 'redisTimeout', 'maxMessageBytes'])

function invalid(option: string, message: string): CioError {
  return new CioError(codes.INVALID_OPTION, message, { details: { option } })
}

/** Checks a `redis` option; throws `INVALID_OPTION`. */
export function checkRedisSource(value: unknown, owner: string): RedisSource {
  if (value instanceof Redis) return value
  if (typeof value === 'string') {
    if (/^rediss?:\/\/./.test(value) || value.startsWith('/')) return value
    throw invalid('redis', `The "redis" option of ${owner} must be a redis:// or rediss:// URL or a unix socket path, got ${JSON.stringify(value)}.`)
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as RedisOptions
  throw invalid('redis', `The "redis" option of ${owner} is required: a URL, a unix socket path, ioredis options or an ioredis client.`)
}

function rejectUnknownKeys(options: Record<string, unknown>, known: Set<string>, owner: string): void {
  for (const key of Object.keys(options)) if (!known.has(key)) throw invalid(key, `${owner} has no option "${key}".`)
}

function checkName(value: unknown, option: string, fallback: string | undefined): string | undefined {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !NAME.test(value)) throw invalid(option, `The "${option}" option must be 1 to 100 letters, digits, ".", "_", ":" or "-", got ${JSON.stringify(value) ?? String(value)}.`)
  return value
}

/** Checks `redisCluster()`'s options and applies the defaults. */
export function resolveClusterOptions(input: unknown): ResolvedClusterOptions {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new CioError(codes.INVALID_ARGUMENT, 'redisCluster(options) needs an options object with at least "redis".')
  const options = input as Record<string, unknown>
  rejectUnknownKeys(options, CLUSTER_KEYS, 'redisCluster()')
  const heartbeatInterval = checkMs(options.heartbeatInterval, 'heartbeatInterval', DEFAULT_CLUSTER_HEARTBEAT)
  const nodeTimeout = checkMs(options.nodeTimeout, 'nodeTimeout', Math.max(DEFAULT_NODE_TIMEOUT, 3 * heartbeatInterval))
  if (nodeTimeout < 3 * heartbeatInterval) {
    throw new CioError(codes.INVALID_OPTION, `The "nodeTimeout" option (${nodeTimeout} ms) must be at least 3 times "heartbeatInterval" (${heartbeatInterval} ms), so that one late heartbeat does not lose a node.`, {
      details: { option: 'nodeTimeout', conflictsWith: 'heartbeatInterval' },
    })
  }
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  if (typeof maxMessageBytes !== 'number' || !Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < MIN_MESSAGE_BYTES) {
    throw invalid('maxMessageBytes', `The "maxMessageBytes" option must be an integer of at least ${MIN_MESSAGE_BYTES}, got ${String(maxMessageBytes)}.`)
  }
  if (options.nodeName !== undefined && typeof options.nodeName === 'string' && options.nodeName.includes('~')) throw invalid('nodeName', 'The "nodeName" option must not contain "~" (it separates the name from the random part of the id).')
  return {
    redis: checkRedisSource(options.redis, 'redisCluster()'),
    namespace: checkName(options.namespace, 'namespace', DEFAULT_NAMESPACE) as string,
    nodeName: checkName(options.nodeName, 'nodeName', undefined),
    heartbeatInterval,
    nodeTimeout,
    redisTimeout: checkMs(options.redisTimeout, 'redisTimeout', DEFAULT_REDIS_TIMEOUT),
    maxMessageBytes,
  }
}

/** Options of `new RedisStore(options)`. */
export interface RedisStoreOptions {
  /** Where Redis is (as for `redisCluster`). Required. */
  redis: RedisSource
  /** The key holding the document. Required. */
  key: string
  /** Milliseconds a load or save may take before it fails with `STORE_FAILED`. @default 2000 */
  redisTimeout?: number
}

/** Checks `RedisStore`'s options. */
export function resolveStoreOptions(input: unknown): Required<RedisStoreOptions> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new CioError(codes.INVALID_ARGUMENT, 'new RedisStore(options) needs an options object with "redis" and "key".')
  const options = input as Record<string, unknown>
  rejectUnknownKeys(options, new Set(['redis', 'key', 'redisTimeout']), 'RedisStore')
  if (typeof options.key !== 'string' || options.key.length === 0 || options.key.length > 512) throw invalid('key', 'The "key" option of RedisStore must be a non-empty string of at most 512 characters.')
  return { redis: checkRedisSource(options.redis, 'RedisStore'), key: options.key, redisTimeout: checkMs(options.redisTimeout, 'redisTimeout', DEFAULT_REDIS_TIMEOUT) }
}
