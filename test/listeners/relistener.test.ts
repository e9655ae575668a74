import { once } from 'node:events'
import net from 'node:net'
import t, { type Test } from "tap"
import buildCio, { codes, RELISTEN_DEFAULTS, type CioError } from '../../lib/internal.js'
import { listenLocal } from '../helpers/net.js'
import { next } from '../helpers/agents.js'

/** A server holding a loopback port, so cio's server gets EADDRINUSE. */
async function occupy(t: Test): Promise<{ port: number; release: () => Promise<void> }> {
  const blocker = net.createServer()
  const port = await listenLocal(t, blocker)
  return { port, release: () => new Promise((resolve) => blocker.close(() => resolve())) }
}

function closeAtEnd(t: Test, server: net.Server): void {
  t.teardown(() => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())))
}

t.test('relistener - defaults are 3000 ms and 3 retries', async (t) => {
  t.same(RELISTEN_DEFAULTS, { retryDelay: 3000, maxRetries: 3 })
})

t.test('relistener - with the default delay it retries and listens once the port is free', async (t) => {
  const { port, release } = await occupy(t)
  const server = buildCio().server()
  closeAtEnd(t, server)
  const started = Date.now()
  let callbacks = 0
  server.once('relisten', (attempt: number, error: NodeJS.ErrnoException) => {
    t.equal(attempt, 1)
    t.equal(error.code, 'EADDRINUSE')
    void release()
  })
  const errors: Error[] = []
  server.on('error', (error) => errors.push(error))
  server.listen(port, '127.0.0.1', () => callbacks++)
  await once(server, 'listening')
  t.same(errors, [], 'EADDRINUSE is not reported while retries remain')
  t.ok(Date.now() - started >= 2900, 'waited about retryDelay')
  t.equal(callbacks, 1, 'the listen callback fires once')
  t.equal((server.address() as net.AddressInfo).port, port, 'same address as asked')
})

t.test('relistener - emits RELISTEN_FAILED after maxRetries, never exits', async (t) => {
  const { port } = await occupy(t)
  const server = buildCio().server({ retryDelay: 5, maxRetries: 2 })
  closeAtEnd(t, server)
  const attempts: number[] = []
  server.on('relisten', (attempt: number) => attempts.push(attempt))
  server.listen(port, '127.0.0.1')
  const [error] = (await once(server, 'error')) as [CioError]
  t.equal(error.code, codes.RELISTEN_FAILED)
  t.match(error.message, /still in use after 3 listen attempts \(2 retries, 5 ms apart\)/)
  t.equal((error.cause as NodeJS.ErrnoException).code, 'EADDRINUSE')
  t.same(attempts, [1, 2])
})

t.test('relistener - a user relisten function replaces the retry', async (t) => {
  const { port, release } = await occupy(t)
  const calls: number[] = []
  const server = buildCio().server({
    retryDelay: 60_000,
    relisten(target, error, attempt) {
      t.equal(target, server)
      t.equal(error.code, 'EADDRINUSE')
      calls.push(attempt)
      void release().then(() => target.listen(port, '127.0.0.1'))
    },
  })
  closeAtEnd(t, server)
  const events: number[] = []
  server.on('relisten', (attempt: number) => events.push(attempt))
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  t.same(calls, [1])
  t.same(events, [1], 'the event comes first, then the function')
})

t.test('relistener - noRelisten leaves EADDRINUSE to the user', async (t) => {
  const { port } = await occupy(t)
  const server = buildCio().server({ noRelisten: true })
  server.on('relisten', () => t.fail('no retry'))
  server.listen(port, '127.0.0.1')
  const [error] = (await once(server, 'error')) as [NodeJS.ErrnoException]
  t.equal(error.code, 'EADDRINUSE')
})

t.test('relistener - other errors reach the user and are not swallowed', async (t) => {
  const server = buildCio().server()
  const other = Object.assign(new Error('something else'), { code: 'EACCES' })
  const got: Error[] = []
  server.on('error', (error) => got.push(error))
  server.emit('error', other)
  t.same(got, [other])
  const lonely = buildCio().server()
  t.throws(() => lonely.emit('error', other), other, 'without a user listener it stays loud')
  const plain = buildCio().server({ noRelisten: true })
  t.equal(plain.emit, net.Server.prototype.emit, 'noRelisten leaves the server untouched')
})

/**
 * How many timers, servers and sockets keep Node alive, counted once the
 * event loop has gone round: a closed handle leaves the list only in the
 * close phase after its close (a failed listen's handle, say).
 */
async function liveResources(): Promise<{ Timeout: number; TCPServerWrap: number; TCPWrap: number }> {
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve))
  const count = { Timeout: 0, TCPServerWrap: 0, TCPWrap: 0 }
  for (const type of process.getActiveResourcesInfo()) if (type in count) count[type as keyof typeof count]++
  return count
}

t.test('relistener - closing the server cancels a pending retry: no timer or handle is left', async (t) => {
  const { port } = await occupy(t)
  const server = buildCio().server({ retryDelay: 30_000 })
  // Should the timer leak all the same, its late retry is closed again, so a failing run still ends.
  server.on('listening', () => server.close())
  const before = await liveResources()
  server.listen(port, '127.0.0.1')
  await once(server, 'relisten')
  t.same(await liveResources(), { ...before, Timeout: before.Timeout + 1 }, 'while the retry is pending, it holds one timer and no handle')
  server.close()
  await once(server, 'close')
  t.same(await liveResources(), before, 'after close: the timer is cleared and no server or socket handle is left')
  t.equal(server.listening, false)
})

t.test('relistener - bad options are refused with INVALID_OPTION', async (t) => {
  const cio = buildCio()
  t.throws(() => cio.server({ retryDelay: -1 }), { code: codes.CHAIN_FAILED, cause: { code: codes.INVALID_OPTION, message: /"retryDelay" option must be a whole number/ } })
  t.throws(() => cio.server({ maxRetries: 1.5 }), { cause: { code: codes.INVALID_OPTION } })
  t.throws(() => cio.server({ relisten: 'yes' as never }), { cause: { code: codes.INVALID_OPTION, message: /"relisten" option must be a function/ } })
})

t.test('relistener - a custom relisten that calls listen() itself still runs out of retries (cio 0.5 style)', async (t) => {
  const { port } = await occupy(t)
  const attempts: number[] = []
  const server = buildCio().server({
    maxRetries: 2,
    relisten(target, _error, attempt) {
      attempts.push(attempt)
      // bounded, so that a count that never runs out fails the test instead of spinning
      if (attempts.length < 10) setImmediate(() => target.listen(port, '127.0.0.1'))
    },
  })
  closeAtEnd(t, server)
  server.listen(port, '127.0.0.1')
  const [error] = await next<[CioError]>(server, 'error', 5000)
  t.equal(error.code, codes.RELISTEN_FAILED)
  t.match(error.message, /after 3 listen attempts/)
  t.same(attempts, [1, 2], 'every EADDRINUSE counted, the listen() calls of relisten included')
})

t.test('relistener - once listening, a later EADDRINUSE starts a new count', async (t) => {
  const { port, release } = await occupy(t)
  const attempts: number[] = []
  const server = buildCio().server({ retryDelay: 5, maxRetries: 50 })
  closeAtEnd(t, server)
  server.on('relisten', (attempt: number) => {
    attempts.push(attempt)
    if (attempt === 1) void release()
  })
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  await new Promise<void>((resolve) => server.close(() => resolve()))
  const { port: busy } = await occupy(t)
  server.listen(busy, '127.0.0.1')
  await once(server, 'relisten')
  server.close()
  t.ok(attempts.length >= 2 && attempts[0] === 1, 'counted while the first port was taken')
  t.equal(attempts.at(-1), 1, 'the count started over')
})
