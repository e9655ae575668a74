/**
 * A benchmark server in its own process: `child.ts <adapter file> <id>`.
 * Prints `{"ready": info}` once listening, then answers each `mem` line on
 * stdin with `{"mem": usage}` measured after garbage collection. Exits when
 * stdin ends (the runner closing it, or dying).
 */
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { within, type RunningServer } from './adapter.js'
import { importAdapters } from './load.js'

const [file, id] = process.argv.slice(2)
if (file === undefined || id === undefined) throw new Error('usage: child.ts <adapter file> <adapter id>')

const send = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

/** Collects until the heap stops shrinking (bounded), so idle memory is what is live. */
async function collect(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run the child with --expose-gc')
  let last = Infinity
  for (let pass = 0; pass < 10; pass++) {
    gc()
    await sleep(20)
    const used = process.memoryUsage().heapUsed
    if (used >= last - 1024) break
    last = used
  }
  return process.memoryUsage()
}

async function start(): Promise<RunningServer> {
  const adapter = (await importAdapters(file!)).find((candidate) => candidate.id === id)
  if (adapter === undefined) throw new Error(`${file} has no adapter ${id}`)
  return adapter.serve()
}

let running: RunningServer
try {
  running = await start()
} catch (error) {
  // Told to the runner, which reports it in the table.
  send({ error: error instanceof Error ? error.message : String(error) })
  process.exit(1)
}
send({ ready: running.info })

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  if (line.trim() === 'mem') collect().then((mem) => send({ mem }), (error: unknown) => send({ error: String(error) }))
})
lines.on('close', () => {
  within(running.close(), 3000, `${id} close`)
    .catch((error: unknown) => process.stderr.write(`${String(error)}\n`))
    .finally(() => process.exit(0))
})
