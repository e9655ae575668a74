import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { needRedis, startRedis } from './helpers/redis.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const cli = join(root, 'dist', 'bin', 'cio.js')
const SECRET = 'command test secret'

interface Finished {
  code: number | null
  stdout: string
  stderr: string
}

function start(t: Test, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, CIO_SECRET: SECRET, ...env } })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return child
}

async function finish(child: ChildProcessWithoutNullStreams, timeoutMs = 30_000): Promise<Finished> {
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [code] = (await once(child, 'close')) as [number | null]
  clearTimeout(timer)
  return { code, stdout, stderr }
}

function run(t: Test, args: string[], env?: NodeJS.ProcessEnv): Promise<Finished> {
  return finish(start(t, args, env))
}

/** Reads JSON lines from a running command until one satisfies `match`. */
async function waitForLine(child: ChildProcessWithoutNullStreams, match: (record: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const lines = createInterface({ input: child.stdout })
  const timer = setTimeout(() => lines.close(), 20_000)
  try {
    for await (const line of lines) {
      const record = JSON.parse(line) as Record<string, unknown>
      if (match(record)) return record
    }
    throw new Error('the command ended before printing the expected line')
  } finally {
    clearTimeout(timer)
    lines.removeAllListeners()
  }
}

t.test('command - demo runs the main job and exits 0', async (t) => {
  const result = await run(t, ['demo'])
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /agents ready: A1, A2, A3/)
  t.match(result.stdout, /the server asked A1 whoami/)
  t.match(result.stdout, /3 answers/)
  t.match(result.stdout, /demo done: 3 agents over TLS/)
})

t.test('command - demo --json prints one record per line', async (t) => {
  const result = await run(t, ['demo', '--json'])
  t.equal(result.code, 0, result.stderr)
  const records = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { event: string })
  t.same(records.map((record) => record.event), ['listening', 'agents', 'agentCall', 'agentCall', 'agentCall', 'serverCall', 'sendAll', 'summary'])
})

t.test('command - bad arguments print a usage line and exit non-zero', async (t) => {
  for (const args of [[], ['nope'], ['demo', 'extra'], ['certs'], ['serve', '--port', 'x'], ['serve', '--bogus'], ['serve', '--namespace', 'x'], ['serve', '--drain-timeout', '0'], ['agent', '--server', 'x:1', '--drain-timeout', 'soon'], ['ls'], ['call'], ['call', 'add'], ['agent'], ['call', 'add', '{not json', '--server', '127.0.0.1:1']]) {
    const result = await run(t, args)
    t.equal(result.code, 2, `cio ${args.join(' ')} exits 2`)
    t.match(result.stderr, /usage: cio/, `cio ${args.join(' ')} prints usage`)
  }
})

t.test('command - every command has --help', async (t) => {
  for (const command of ['demo', 'certs', 'serve', 'agent', 'call', 'ls']) {
    const result = await run(t, [command, '--help'])
    t.equal(result.code, 0)
    t.match(result.stdout, new RegExp(`usage: cio ${command}`))
  }
  const top = await run(t, ['--help'])
  t.match(top.stdout, /usage: cio <demo\|certs\|serve\|agent\|call\|ls>/)
})

t.test('command - certs writes a CA, server and client certificates', async (t) => {
  const dir = t.testdir()
  const result = await run(t, ['certs', '--out', dir, '--client', 'alice', '--client', 'bob'])
  t.equal(result.code, 0, result.stderr)
  for (const name of ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem', 'alice.pem', 'alice-key.pem', 'bob.pem', 'bob-key.pem']) t.ok(existsSync(join(dir, name)), name)
  t.match(readFileSync(join(dir, 'server.pem'), 'utf8'), /BEGIN CERTIFICATE/)
})

t.test('command - call works against serve, and serve prints agents joining and leaving', async (t) => {
  const dir = t.testdir()
  const serve = start(t, ['serve', '--port', '0', '--json', '--hooks', './test/fixtures/hooks.mjs', '--store', join(dir, 'server.json')])
  const listening = await waitForLine(serve, (record) => record.event === 'listening')
  const server = `127.0.0.1:${String(listening.port)}`
  const joined = waitForLine(serve, (record) => record.event === 'agentConnected')
  const ok = await run(t, ['call', 'add', '{"a":2,"b":3}', '--server', server])
  t.equal(ok.code, 0, ok.stderr)
  t.equal(ok.stdout.trim(), '5')
  t.equal((await joined).name, 'A1')
  const refused = await run(t, ['call', 'fail', '--server', server])
  t.equal(refused.code, 1)
  t.match(refused.stderr, /MYERRCODE/)
  const unknown = await run(t, ['call', 'nothing', '--server', server, '--json'])
  t.equal(unknown.code, 1)
  t.match(JSON.parse(unknown.stdout) as object, { ok: false, error: { code: 'UNKNOWN_ACTION' } })
  const wrong = await run(t, ['call', 'add', '{"a":1,"b":1}', '--server', server], { CIO_SECRET: 'not the secret, but long enough' })
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /WRONG_SECRET/)
  const drained = waitForLine(serve, (record) => record.event === 'drained')
  serve.kill('SIGTERM')
  t.match(await drained, { completed: 0, aborted: 0 }, 'serve drains on SIGTERM')
  const [code] = (await once(serve, 'close')) as [number]
  t.equal(code, 0, 'serve closes cleanly on SIGTERM')
})

t.test('command - the secret can come from a file; inline secrets warn', async (t) => {
  const dir = t.testdir({ secret: `${SECRET}\n` })
  const serve = start(t, ['serve', '--port', '0', '--json', '--secret-file', join(dir, 'secret'), '--hooks', './test/fixtures/hooks.mjs'], { CIO_SECRET: '' })
  const listening = await waitForLine(serve, (record) => record.event === 'listening')
  const inline = await run(t, ['call', 'add', '{"a":1,"b":1}', '--server', `127.0.0.1:${String(listening.port)}`, '--secret', SECRET], { CIO_SECRET: '' })
  t.equal(inline.code, 0, inline.stderr)
  t.equal(inline.stdout.trim(), '2')
  t.match(inline.stderr, /warning: --secret puts the secret in the process list/)
  const none = await run(t, ['call', 'add', '--server', '127.0.0.1:1'], { CIO_SECRET: '' })
  t.equal(none.code, 2)
  t.match(none.stderr, /no secret: set CIO_SECRET/)
})

t.test('command - agent keeps its name in its store across restarts', async (t) => {
  const dir = t.testdir()
  const serve = start(t, ['serve', '--port', '0', '--json'])
  const listening = await waitForLine(serve, (record) => record.event === 'listening')
  const server = `127.0.0.1:${String(listening.port)}`
  const store = join(dir, 'agent.json')
  const first = start(t, ['agent', '--server', server, '--store', store, '--json', '--hooks', './test/fixtures/hooks.mjs'])
  const ready = await waitForLine(first, (record) => record.event === 'ready')
  const firstDrained = waitForLine(first, (record) => record.event === 'drained')
  first.kill('SIGTERM')
  t.match(await firstDrained, { completed: 0, aborted: 0 }, 'the agent drains on SIGTERM')
  t.equal(((await once(first, 'close')) as [number])[0], 0)
  const other = start(t, ['agent', '--server', server, '--json'])
  const otherReady = await waitForLine(other, (record) => record.event === 'ready')
  const again = start(t, ['agent', '--server', server, '--store', store, '--json'])
  const readyAgain = await waitForLine(again, (record) => record.event === 'ready')
  t.equal(readyAgain.name, ready.name, 'the same name after a restart')
  t.not(otherReady.name, ready.name, 'a new agent gets a new name')
  other.kill('SIGTERM')
  again.kill('SIGTERM')
  serve.kill('SIGTERM')
})

t.test('command - serve --redis joins a cluster; ls lists its nodes and agents', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const nodes = [0, 1].map(() => start(t, ['serve', '--port', '0', '--json', '--redis', redis.path, '--namespace', 'cli']))
  const listening = await Promise.all(nodes.map((node) => waitForLine(node, (record) => record.event === 'listening')))
  t.ok(listening.every((record) => typeof record.node === 'string'), 'each prints its node id')
  const agent = start(t, ['agent', '--server', `127.0.0.1:${String(listening[0]?.port)}`, '--json'])
  const ready = await waitForLine(agent, (record) => record.event === 'ready')
  const ls = await run(t, ['ls', '--redis', redis.path, '--namespace', 'cli', '--json'])
  t.equal(ls.code, 0, ls.stderr)
  const records = ls.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
  t.same(records.filter((record) => record.type === 'node').map((record) => record.id).sort(), listening.map((record) => record.node).sort(), 'both nodes')
  t.same(records.filter((record) => record.type === 'agent'), [{ type: 'agent', name: ready.name, node: listening[0]?.node }], 'the agent and its node')
  const other = await run(t, ['ls', '--redis', redis.path])
  t.match(other.stdout, /0 nodes, 0 agents/, 'another namespace is empty')
  agent.kill('SIGTERM')
  for (const node of nodes) node.kill('SIGTERM')
  const codes = await Promise.all(nodes.map(async (node) => ((await once(node, 'close')) as [number])[0]))
  t.same(codes, [0, 0], 'nodes close cleanly')
})
