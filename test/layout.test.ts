/**
 * The source layout's rules, checked on every test run: no import cycle
 * among lib/, listeners/ and bin/ (type-only imports count: a cycle of types
 * still ties the files' meaning together), and nothing directly in lib/ but
 * the public entry (ES module and its CommonJS face), the internal entry
 * and the error table.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { findCycles, importGraph, root } from './helpers/imports.js'

t.test('layout - no import cycles in lib, listeners and bin (type imports included)', async (t) => {
  const cycles = findCycles(importGraph(['lib', 'listeners', 'bin']))
  t.same(cycles.map((cycle) => cycle.map((file) => relative(root, file)).join(' -> ')), [])
})

t.test('layout - lib/ holds only index.ts, index.cts, internal.ts and errors.ts beside the subsystem folders', async (t) => {
  const allowed = new Set(['index.ts', 'index.cts', 'internal.ts', 'errors.ts'])
  const loose = readdirSync(join(root, 'lib')).filter((name) => !statSync(join(root, 'lib', name)).isDirectory())
  t.same(loose.filter((name) => !allowed.has(name)), [])
})

t.test('layout - the cycle finder reports a cycle and only the files on it', async (t) => {
  const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])
  t.same(findCycles(graph), [['a', 'b', 'c']])
  t.same(findCycles(new Map([['a', ['b']], ['b', []]])), [])
})

t.test('layout - the published declarations compile on their own, internals stripped', async (t) => {
  const dist = (path: string): string => join(root, 'dist', path)
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const entries = ['lib/index.d.ts', 'lib/agent/index.d.ts', 'listeners/rpc.d.ts', 'listeners/frame.d.ts'].map(dist)
  const args = [tsc, '--noEmit', '--strict', '--skipLibCheck', 'false', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', ...entries]
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 60_000 })
  t.equal(result.status, 0, result.stdout + result.stderr)
  t.notMatch(readFileSync(dist('lib/rpc/peer.d.ts'), 'utf8'), /_registries|_pending/, '@internal fields are not published')
})
