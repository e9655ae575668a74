/**
 * Loads `cio/redis` only when a command is given `--redis`, so the other
 * commands work without the optional ioredis package installed.
 */
import { CioError, codes, describeError } from '../lib/errors.js'

type RedisEntry = typeof import('../lib/redis/index.js')

/** The `cio/redis` module; `MODULE_LOAD` naming the missing package when ioredis is not installed. */
export async function loadRedisEntry(): Promise<RedisEntry> {
  try {
    return await import('../lib/redis/index.js')
  } catch (error) {
    throw new CioError(codes.MODULE_LOAD, `--redis needs the optional ioredis package (npm install ioredis): ${describeError(error)}`, { cause: error })
  }
}
