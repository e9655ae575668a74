/**
 * A real redis-server per test suite: on a unix socket in a temporary
 * directory (no TCP port, nothing persisted), readiness by PING, stopped by
 * pid at teardown. Without redis-server the suite is skipped locally and
 * fails in CI (CI=true or CIO_REQUIRE_REDIS=1), so CI cannot pass green
 * without having run it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'

/** The redis-server binary, or undefined when there is none. */
export function redisServerBinary(): string | undefined {
  const given = process.env.CIO_REDIS_SERVER
  if (given !== undefined && given !== '') return given
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' })
  const path = found.stdout.trim()
  return found.status === 0 && path !== '' ? path : undefined
}

/** True when a missing redis-server must fail the run instead of skipping. */
export function redisRequired(): boolean {
  return process.env.CI === 'true' || process.env.CIO_REQUIRE_REDIS === '1'
}

/**
 * Skips (locally) or fails (CI) the test when redis-server is missing.
 * Returns false when the caller must stop.
 */
export function needRedis(t: Test): boolean {
  if (redisServerBinary() !== undefined) return true
  if (redisRequired()) t.fail('redis-server is missing: .ci/run installs it (apt-get install redis-server)')
  else t.skip('redis-server is not installed; CI installs it', () => {})
  return false
}

/** Sends one inline command on a fresh connection; resolves with the raw reply. */
export function redisCommand(path: string, command: string, timeout = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    let reply = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`redis did not answer ${command} within ${timeout} ms`))
    }, timeout)
    socket.on('connect', () => socket.write(`${command}\r\n`))
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString()
      if (reply.endsWith('\r\n')) {
        clearTimeout(timer)
        socket.destroy()
        resolve(reply)
      }
    })
    socket.on('error', (error) => {
      clearTimeout(timer)
      socket.destroy()
      reject(error)
    })
  })
}

/** A running redis-server. */
export class RedisInstance {
  readonly dir: string
  readonly path: string
  #proc: ChildProcess | undefined
  #exited: Promise<void> = Promise.resolve()

  constructor(private readonly binary: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'cio-redis-'))
    this.path = join(this.dir, 'redis.sock')
  }

  /** The pid of the running server. */
  get pid(): number | undefined {
    return this.#proc?.pid
  }

  /** Starts the server (again, after `kill()`: empty, nothing was persisted) and waits for PING. */
  async start(): Promise<void> {
    const args = ['--port', '0', '--unixsocket', this.path, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', this.dir, '--logfile', '']
    const proc = spawn(this.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    this.#proc = proc
    this.#exited = new Promise((resolve) => proc.once('exit', () => resolve()))
    const until = Date.now() + 5000
    for (;;) {
      try {
        if ((await redisCommand(this.path, 'PING', 200)).startsWith('+PONG')) return
      } catch {
        // not up yet
      }
      if (Date.now() > until || proc.exitCode !== null) throw new Error('redis-server did not start within 5 s')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /** Kills the server with a signal and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.#proc
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    proc.kill(signal)
    const timer = setTimeout(() => proc.kill('SIGKILL'), 2000)
    await this.#exited
    clearTimeout(timer)
  }

  /** Stops the server (SIGTERM, SIGKILL after 2 s) and removes its directory. */
  async stop(): Promise<void> {
    await this.kill('SIGTERM')
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Starts a redis-server for this test, stopped at teardown. */
export async function startRedis(t: Test): Promise<RedisInstance> {
  const instance = new RedisInstance(redisServerBinary() as string)
  t.teardown(() => instance.stop())
  await instance.start()
  return instance
}
