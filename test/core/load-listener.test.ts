import { join, resolve } from 'node:path'
import t from 'tap'
import { BUILTIN_LISTENER_MODULES, loadListenerModule, resolveListenerModule } from '../../lib/core/load-listener.js'
import { codes, type CioError } from '../../lib/errors.js'

const root = process.cwd()
const fixtures = resolve(root, 'test/fixtures')

type Loaded = { options?: { id?: string } }

t.test('load-listener - every built-in id names a shipped listener carrying that id', async (t) => {
  for (const [id, file] of Object.entries(BUILTIN_LISTENER_MODULES)) {
    const loaded = loadListenerModule(id) as Loaded | Loaded[]
    // cio/rpc ships framing and RPC together, as the array [frame, rpc]
    const ids = (Array.isArray(loaded) ? loaded : [loaded]).map((fn) => fn.options?.id)
    t.ok(ids.includes(id), `${id} loads listeners/${file}, which holds ${ids.join(', ')}`)
  }
  t.same((loadListenerModule('cio/rpc') as Loaded[]).map((fn) => fn.options?.id), ['cio/frame', 'cio/rpc'])
})

t.test('load-listener - names resolve from the working directory first', async (t) => {
  t.equal(resolveListenerModule('./tag-listener.mjs', fixtures), join(fixtures, 'tag-listener.mjs'))
  t.equal(resolveListenerModule('./test/fixtures/tag-listener.mjs', root), join(fixtures, 'tag-listener.mjs'))
  const error = t.throws(() => resolveListenerModule('./tag-listener.mjs', root), { code: codes.MODULE_LOAD }) as CioError
  t.same(error.details, { module: './tag-listener.mjs', cwd: root }, 'a name is not looked for beside cio\'s own files')
})

t.test('load-listener - an unknown name is MODULE_LOAD naming the module and where it was looked for', async (t) => {
  t.throws(() => resolveListenerModule('cio/no-such-listener', fixtures), {
    code: codes.MODULE_LOAD,
    message: `Cannot find the listener module "cio/no-such-listener" from ${fixtures} or from cio.`,
    details: { module: 'cio/no-such-listener', cwd: fixtures },
  })
  t.throws(() => loadListenerModule('./missing.mjs', fixtures), { code: codes.MODULE_LOAD, details: { module: './missing.mjs' } })
})

t.test('load-listener - the default export of an ES module, and a CommonJS export as it is', async (t) => {
  const tag = loadListenerModule('./tag-listener.mjs', fixtures) as { name: string; options: unknown }
  t.equal(tag.name, 'tagListener')
  t.same(tag.options, { id: 'test/tag' })
  const list = loadListenerModule('./listener-list.cjs', fixtures) as Array<{ options: { id: string } }>
  t.ok(Array.isArray(list))
  t.same(list.map((fn) => fn.options.id), ['test/second', 'test/first'])
  t.equal(loadListenerModule('./not-a-listener.mjs', fixtures), 42, 'checking the export is left to the caller')
})

t.test('load-listener - a module that throws while loading is MODULE_LOAD with the path and the cause', async (t) => {
  const error = t.throws(() => loadListenerModule('./throws-on-load.mjs', fixtures), {
    code: codes.MODULE_LOAD,
    message: /^The listener module "\.\/throws-on-load\.mjs" \(.*throws-on-load\.mjs\) failed to load: this module refuses to load/,
    details: { module: './throws-on-load.mjs', path: join(fixtures, 'throws-on-load.mjs') },
  }) as CioError
  t.match(error.cause, { message: 'this module refuses to load' })
})
