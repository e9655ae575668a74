/**
 * cio's own Redis connections. Whatever the user gave (URL, socket path,
 * options, a client), cio opens its own connections with settings that make
 * every failure quick and visible: no offline queue (a command while
 * disconnected fails at once), no retried or re-sent commands (a command
 * never runs twice or late), a time limit on each command and on connecting.
 */
import { Redis, type RedisOptions } from 'ioredis'
import type { RedisSource } from './options.js'

/** Reconnect delays: quick at first, at most a second apart. */
function retryDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 5), 1000)
}

/** The settings cio forces on every connection it opens. */
export function strictOptions(redisTimeout: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: true,
    commandTimeout: redisTimeout,
    connectTimeout: redisTimeout,
    retryStrategy: retryDelay,
    lazyConnect: false,
  }
}

/** Opens a connection to `source` with the strict settings. */
export function openRedis(source: RedisSource, redisTimeout: number, connectionName: string): Redis {
  const strict = { ...strictOptions(redisTimeout), connectionName }
  if (source instanceof Redis) return source.duplicate(strict)
  if (typeof source === 'string') return source.startsWith('/') ? new Redis({ path: source, ...strict }) : new Redis(source, strict)
  return new Redis({ ...source, ...strict })
}
