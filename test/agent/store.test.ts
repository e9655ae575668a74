import t from 'tap'
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AtomicFileStore, MemoryStore, type DataStore } from '../../lib/agent/store.js'
import { FileStore } from '../../lib/agent/compat.js'
import { codes } from '../../lib/errors.js'

// Root ignores file permissions, so permission tests only mean something as another user.
const isRoot = process.getuid?.() === 0

t.test('memory store - load is undefined before any save', async (t) => {
  t.equal(await new MemoryStore().load(), undefined)
})

t.test('memory store - starts with an initial document', async (t) => {
  t.same(await new MemoryStore({ counter: 3 }).load(), { counter: 3 })
})

t.test('memory store - caller mutations after save or load do not leak in', async (t) => {
  const store = new MemoryStore()
  const doc = { name: 'A1', nested: { n: 1 } }
  await store.save(doc)
  doc.name = 'changed'
  doc.nested.n = 2
  const loaded = await store.load()
  t.same(loaded, { name: 'A1', nested: { n: 1 } })
  if (loaded) loaded.name = 'changed again'
  t.same(await store.load(), { name: 'A1', nested: { n: 1 } })
})

t.test('memory store - rejects documents that are not JSON objects', async (t) => {
  const store: DataStore<unknown> = new MemoryStore<unknown>()
  for (const bad of [null, [], 'text', 42, undefined]) {
    await t.rejects(store.save(bad), { code: codes.INVALID_ARGUMENT }, String(bad))
  }
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  await t.rejects(store.save(cyclic), { code: codes.INVALID_ARGUMENT, message: /JSON-serialisable/ })
  await t.rejects(store.save({ n: 1n }), { code: codes.INVALID_ARGUMENT })
  t.equal(await store.load(), undefined, 'nothing was stored')
})

t.test('file store - missing or empty file option is INVALID_OPTION', async (t) => {
  t.throws(() => FileStore({ file: '' }), { code: codes.INVALID_OPTION, details: { option: 'file' } })
  // @ts-expect-error - a JavaScript caller may pass nothing at all
  t.throws(() => new FileStore(), { code: codes.INVALID_OPTION })
  // @ts-expect-error - or the wrong type
  t.throws(() => FileStore({ file: 42 }), { code: codes.INVALID_OPTION })
  t.throws(() => FileStore({ file: 'x.json', mode: 0o1000 }), { code: codes.INVALID_OPTION, details: { option: 'mode' } })
  t.throws(() => FileStore({ file: 'x.json', mode: 1.5 }), { code: codes.INVALID_OPTION })
})

t.test('file store - callable with and without new', async (t) => {
  const dir = t.testdir()
  const a = FileStore({ file: join(dir, 'a.json') })
  const b = new FileStore({ file: join(dir, 'b.json') })
  t.ok(a instanceof FileStore)
  t.ok(b instanceof FileStore)
  t.ok(a instanceof AtomicFileStore)
  t.equal(a.file, join(dir, 'a.json'))
})

t.test('file store - load is undefined when the file does not exist', async (t) => {
  const store = FileStore({ file: join(t.testdir(), 'none.json') })
  t.equal(await store.load(), undefined)
})

t.test('file store - saves and loads a document, relative paths resolved at construction', async (t) => {
  const dir = t.testdir()
  const cwd = process.cwd()
  process.chdir(dir)
  t.teardown(() => process.chdir(cwd))
  const store = FileStore({ file: 'store.json' })
  process.chdir(cwd)
  await store.save({ counter: 7, names: ['A1'] })
  t.same(await store.load(), { counter: 7, names: ['A1'] })
  t.same(JSON.parse(await readFile(join(dir, 'store.json'), 'utf8')), { counter: 7, names: ['A1'] })
  t.same(await FileStore({ file: join(dir, 'store.json') }).load(), { counter: 7, names: ['A1'] }, 'a new store reads it back')
})

t.test('file store - the file is private and no temporary file is left', async (t) => {
  const dir = t.testdir()
  const store = FileStore({ file: join(dir, 'store.json') })
  await store.save({ a: 1 })
  await store.save({ a: 2 })
  t.same(await readdir(dir), ['store.json'])
  t.equal((await stat(join(dir, 'store.json'))).mode & 0o777, 0o600)
  const open = FileStore({ file: join(dir, 'open.json'), mode: 0o644 })
  await open.save({ a: 1 })
  t.equal((await stat(join(dir, 'open.json'))).mode & 0o777, 0o644 & ~process.umask())
})

t.test('file store - concurrent saves are serialised and the last one wins', async (t) => {
  const file = join(t.testdir(), 'store.json')
  const store = FileStore({ file })
  const doc = { n: 0 }
  const saves: Promise<void>[] = []
  for (let n = 1; n <= 20; n++) {
    doc.n = n
    saves.push(store.save(doc)) // serialised at call time: later mutation is not saved
  }
  doc.n = 999
  await Promise.all(saves)
  t.same(await store.load(), { n: 20 })
})

t.test('file store - load waits for a pending save', async (t) => {
  const store = FileStore({ file: join(t.testdir(), 'store.json') })
  const saved = store.save({ name: 'A4' })
  t.same(await store.load(), { name: 'A4' })
  await saved
})

t.test('file store - a failed save rejects with STORE_FAILED and later saves still run', async (t) => {
  const dir = t.testdir({ sub: {} })
  const file = join(dir, 'missing-dir', 'store.json')
  const store = FileStore({ file })
  const failed = store.save({ a: 1 })
  await t.rejects(failed, { code: codes.STORE_FAILED, details: { file }, cause: { code: 'ENOENT' } })
  await mkdir(join(dir, 'missing-dir'))
  await store.save({ a: 2 })
  t.same(await store.load(), { a: 2 })
})

t.test('file store - rename failure removes the temporary file', async (t) => {
  const dir = t.testdir({ 'store.json': {} }) // a directory where the file should be
  const store = FileStore({ file: join(dir, 'store.json') })
  await t.rejects(store.save({ a: 1 }), { code: codes.STORE_FAILED, message: /Cannot write the store file/ })
  t.same(await readdir(dir), ['store.json'])
})

t.test('file store - unserialisable documents reject before touching the file', async (t) => {
  const dir = t.testdir()
  // @ts-expect-error - arrays are not store documents
  await t.rejects(FileStore({ file: join(dir, 's.json') }).save([1]), { code: codes.INVALID_ARGUMENT })
  t.same(await readdir(dir), [])
})

t.test('file store - corrupt or non-object JSON is STORE_FAILED with the file', async (t) => {
  const dir = t.testdir({ 'bad.json': '{"counter": 1', 'array.json': '[1]', 'empty.json': '', 'null.json': 'null' })
  for (const name of ['bad.json', 'array.json', 'empty.json', 'null.json']) {
    const file = join(dir, name)
    await t.rejects(FileStore({ file }).load(), { code: codes.STORE_FAILED, details: { file }, message: /Cannot parse/ }, name)
  }
})

t.test('file store - an unreadable file is STORE_FAILED with the cause', { skip: isRoot && 'root can read any file' }, async (t) => {
  const file = join(t.testdir({ 'store.json': '{}' }), 'store.json')
  await chmod(file, 0o000)
  await t.rejects(FileStore({ file }).load(), { code: codes.STORE_FAILED, details: { file }, cause: { code: 'EACCES' } })
})

t.test('file store - a directory in place of the file is STORE_FAILED on load', async (t) => {
  const file = join(t.testdir({ 'store.json': {} }), 'store.json')
  await t.rejects(FileStore({ file }).load(), { code: codes.STORE_FAILED, message: /Cannot read.*not a regular file/ })
})

t.test('file store - __proto__ and constructor.prototype keys are dropped', async (t) => {
  const file = join(t.testdir(), 'store.json')
  await writeFile(file, '{"name":"A1","__proto__":{"polluted":true},"nested":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}},"constructor":"kept"}')
  const doc = await FileStore({ file }).load()
  t.same(doc, { name: 'A1', nested: {}, constructor: 'kept' })
  t.equal(Object.getPrototypeOf(doc), Object.prototype)
  t.notOk(Object.hasOwn(doc ?? {}, '__proto__'))
  const merged = Object.assign({}, doc, doc?.nested)
  t.equal((merged as Record<string, unknown>).polluted, undefined)
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched')
})

t.test('memory store - __proto__ keys saved by a caller are dropped on load', async (t) => {
  const store = new MemoryStore()
  await store.save(JSON.parse('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>)
  const doc = await store.load()
  t.same(doc, { a: 1 })
  t.notOk(Object.hasOwn(doc ?? {}, '__proto__'))
})
