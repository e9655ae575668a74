/**
 * Damaged stores and hostile claims: a server whose counter file is damaged
 * in any of the ways tried gives out no name (so never one twice), admits
 * agents that come back with theirs, and leaves the file as it found it; a
 * store that never answers times out; claimed names cannot move a counter
 * a healthy store vouches for.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Agent, AgentServer, FileStore, MemoryStore, type AgentServerOptions } from '../../lib/agent/index.js'
import { codes, type CioError } from '../../lib/errors.js'
import { MAX_CLAIM_JUMP, MAX_FOREIGN_NAMES, NameCounter } from '../../lib/agent/server/name-counter.js'
import { parseNameFormat } from '../../lib/agent/names.js'
import { SECRET } from '../helpers/agents.js'
import { figure } from './helpers.js'

async function server(t: Test, dataStore: AgentServerOptions['dataStore'], storeTimeout?: number) {
  const s = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', dataStore, storeTimeout, heartbeatInterval: 0, noRelisten: true })
  t.teardown(() => s.close())
  const errors: CioError[] = []
  s.on('error', (error) => errors.push(error))
  const { port } = await s.ready()
  return { server: s, port, errors }
}

/** The outcome of one agent's first attempt: its name, or the code it was refused with. */
async function attempt(t: Test, port: number, name?: string): Promise<string> {
  const agent = new Agent({ host: `127.0.0.1:${port}`, secret: SECRET, reconnect: false, dataStore: name === undefined ? undefined : new MemoryStore({ name }) })
  t.teardown(() => agent.close())
  const outcome = await new Promise<string>((resolve) => {
    agent.once('ready', (given: string) => resolve(`named ${given}`))
    agent.once('error', (error: CioError) => resolve(error.code))
  })
  await agent.close()
  return outcome
}

t.test('stores - every damaged counter file: no new name, returning agents admitted, the file left as it was', async (t) => {
  const dir = t.testdir()
  const cases: Array<[string, (file: string) => void]> = [
    ['truncated', (file) => writeFileSync(file, '{"counter": 4')],
    ['empty', (file) => writeFileSync(file, '')],
    ['an array', (file) => writeFileSync(file, '[5]')],
    ['a string', (file) => writeFileSync(file, '"A5"')],
    ['a negative counter', (file) => writeFileSync(file, '{"counter": -1}')],
    ['a counter that is a string', (file) => writeFileSync(file, '{"counter": "5"}')],
    ['a fractional counter', (file) => writeFileSync(file, '{"counter": 1.5}')],
    ['binary garbage', (file) => writeFileSync(file, Buffer.from([0xff, 0xfe, 0, 1, 2]))],
    ['above 1 MiB', (file) => writeFileSync(file, `{"counter": 5, "pad": "${'x'.repeat(1024 * 1024)}"}`)],
    ['a directory', (file) => mkdirSync(file)],
    ['a symlink to /dev/zero', (file) => symlinkSync('/dev/zero', file)],
    ['a FIFO', (file) => execFileSync('mkfifo', [file])],
  ]
  const outcomes: string[] = []
  for (const [what, damage] of cases) {
    const file = join(dir, `${what.replace(/\W+/g, '-')}.json`)
    damage(file)
    let before: Buffer | undefined
    try {
      before = what === 'a FIFO' || what === 'a directory' || what.startsWith('a symlink') ? undefined : readFileSync(file)
    } catch {
      before = undefined
    }
    const { port, errors } = await server(t, FileStore({ file }))
    const fresh = await attempt(t, port)
    const back = await attempt(t, port, 'A3')
    t.equal(fresh, codes.STORE_FAILED, `${what}: a new agent is refused with STORE_FAILED, never given A1`)
    t.equal(back, 'named A3', `${what}: an agent coming back with its name is admitted`)
    t.ok(errors.some((error) => error.code === codes.STORE_FAILED), `${what}: STORE_FAILED reported`)
    if (before !== undefined) t.same(readFileSync(file), before, `${what}: the file is left as it was`)
    outcomes.push(`${what}: ${fresh}`)
  }
  figure(t, `damaged store file, ${cases.length} kinds (${cases.map(([what]) => what).join(', ')}): every new agent refused with STORE_FAILED, every returning agent admitted, no file overwritten`)
})

t.test('stores - a store whose load or save never settles times out (storeTimeout) instead of stalling handshakes', async (t) => {
  const never = new Promise<never>(() => {})
  const hung = await server(t, { load: () => never, save: () => never }, 200)
  t.equal(await attempt(t, hung.port), codes.STORE_FAILED, 'a new agent is refused once the load timed out')
  t.equal(await attempt(t, hung.port, 'A2'), 'named A2', 'a returning agent is admitted')
  t.match(hung.errors[0], { code: codes.STORE_FAILED, message: /did not settle within 200 ms/ })
  const saving = await server(t, { load: () => Promise.resolve({ counter: 9 }), save: () => never }, 200)
  t.equal(await attempt(t, saving.port), codes.STORE_FAILED, 'a name whose save never settles is refused, not handed out')
  t.equal(await attempt(t, saving.port, 'A4'), 'named A4', 'a known name needs no save')
})

t.test('stores - claimed names cannot wreck the counter', async (t) => {
  const store = new MemoryStore({ counter: 5 })
  const { port } = await server(t, store)
  t.equal(await attempt(t, port, 'A9007199254740990'), 'named A6', 'a name past what this server gave out is replaced by a new one')
  t.equal(await attempt(t, port, 'A99'), 'named A7')
  t.equal(await attempt(t, port), 'named A8', 'later agents still get names')
  t.equal(await attempt(t, port, 'A5'), 'named A5', 'a name it gave out comes back as it is')
  t.same(await store.load(), { counter: 8 })
  const memoryOnly = await server(t, undefined)
  t.equal(await attempt(t, memoryOnly.port, 'A1000'), 'named A1000', 'without a store, returning agents move the counter...')
  t.equal(await attempt(t, memoryOnly.port), 'named A1001')
  t.equal(await attempt(t, memoryOnly.port, `A${1001 + MAX_CLAIM_JUMP + 1}`), 'named A1002', `...by at most ${MAX_CLAIM_JUMP}`)
  const counter = new NameCounter(parseNameFormat('A#'), undefined, () => {}, 1000)
  for (let i = 0; i < MAX_FOREIGN_NAMES + 10; i++) counter.claim(`agent-${i}`)
  t.notOk(counter.known('agent-0'), 'foreign names are forgotten past the bound, oldest first')
  t.ok(counter.known(`agent-${MAX_FOREIGN_NAMES + 9}`))
})
