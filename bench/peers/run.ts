/**
 * bench/peers: cio against the raw `net` baseline and the libraries people
 * already use for calls between Node processes, in one run, each server in
 * its own child process (`child.ts`), clients here.
 *
 *   cd bench/peers && npm ci && npm run bench
 *
 * Throughput: the scenarios and measuring loop of bench/rpc.ts (1 and 64
 * calls in flight at ~100 B, 64 KiB bodies with 4 in flight). Each round
 * visits every library in turn, in SLICES slices whose order alternates
 * (and whose starting library rotates from round to round), so background
 * load falls on all alike; the table shows medians over rounds and the
 * median of the per-round ratios to the baseline.
 *
 * Idle memory: for the adapters marked `memory`, a fresh server child,
 * BENCH_IDLE connections each making one call, then BENCH_IDLE more; the
 * child's rss and heap (heapUsed + external) after gc between the two,
 * divided by the count (the slope, so one-time costs stay out). Median
 * over BENCH_MEM_ROUNDS fresh children.
 *
 * Environment: BENCH_ROUNDS (5), BENCH_MS (1000: per library, scenario and
 * round), BENCH_SLICES (10), BENCH_WARMUP_MS (300), BENCH_IDLE (500),
 * BENCH_MEM_ROUNDS (3), BENCH_ONLY (comma-separated adapter ids; the
 * baseline always runs), BENCH_OUT (results file, default ../RESULTS.md;
 * `-` writes none).
 */
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { within, type Client } from './adapter.js'
import { loadAdapters, reasonOf, type Loaded, type Skipped } from './load.js'
import { large, measure, scenarios, small, type Scenario } from './method.js'
import { renderReport, writeReport, type MemoryResult, type ThroughputResult } from './results.js'
import { ServerProcess } from './server-process.js'

function setting(name: string, fallback: number, min = 1): number {
  const raw = process.env[name]
  const value = raw === undefined || raw === '' ? fallback : Number(raw)
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min}, got ${raw}`)
  return Math.floor(value)
}

const settings = {
  rounds: setting('BENCH_ROUNDS', 5, 0),
  ms: setting('BENCH_MS', 1000, 50),
  slices: setting('BENCH_SLICES', 10),
  warmupMs: setting('BENCH_WARMUP_MS', 300, 0),
  idle: setting('BENCH_IDLE', 500),
  memRounds: setting('BENCH_MEM_ROUNDS', 3, 0),
}
const only = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((id) => id.trim())
  .filter((id) => id !== '')
const out = process.env.BENCH_OUT ?? fileURLToPath(new URL('../RESULTS.md', import.meta.url))
/** Longest a measurement may overrun its slice before its library is dropped. */
const STALL_MS = 20_000

const log = (text: string): void => {
  process.stderr.write(`${text}\n`)
}

interface Row extends ThroughputResult {
  loaded: Loaded
  server?: ServerProcess | undefined
  client?: Client | undefined
}

const started = performance.now()
const loadAtStart = os.loadavg()[0] ?? 0
const { loaded, skipped } = await loadAdapters()
const notes: Skipped[] = [...skipped]
for (const skip of skipped) log(`skipped adapters/${skip.file}: ${skip.reason}`)
const chosen = loaded.filter(({ adapter }) => only.length === 0 || only.includes(adapter.id) || adapter.id === 'baseline')
if (chosen[0]?.adapter.id !== 'baseline') throw new Error('adapters/baseline.ts is missing: nothing to compare with')

const rows: Row[] = chosen.map((entry) => ({
  loaded: entry,
  id: entry.adapter.id,
  label: entry.adapter.label,
  description: entry.adapter.description,
  rates: Object.fromEntries(scenarios.map((scenario) => [scenario.id, []])),
  ratios: Object.fromEntries(scenarios.map((scenario) => [scenario.id, []])),
}))
const baselineRow = rows[0]!

async function drop(row: Row, reason: string): Promise<void> {
  if (row.failure === undefined) row.failure = reason
  log(`dropped ${row.label}: ${reason}`)
  const { client, server } = row
  row.client = undefined
  row.server = undefined
  await client?.close().catch(() => undefined)
  await server?.stop()
}

async function connect(row: Row): Promise<void> {
  try {
    row.server = await ServerProcess.start(row.loaded.file, row.id, row.label)
    row.client = await within(row.loaded.adapter.connect(row.server.info), 15_000, `${row.label} connect`)
    // Each body once before anything is timed: a library that cannot echo it is dropped here.
    for (const body of [small, large]) {
      const echoed = await within(row.client.call(body), 15_000, `${row.label} first call`)
      if (JSON.stringify(echoed) !== JSON.stringify(body)) throw new Error(`echo returned ${JSON.stringify(echoed).slice(0, 80)}`)
    }
  } catch (error) {
    await drop(row, reasonOf(error))
  }
}

const active = (): Row[] => rows.filter((row) => row.failure === undefined)

/** One library, one scenario, `ms`: calls and elapsed time, or the row dropped. */
async function timed(row: Row, scenario: Scenario, ms: number): Promise<{ calls: number; elapsed: number } | undefined> {
  const client = row.client
  if (client === undefined) return undefined
  try {
    return await within(measure((body) => client.call(body), scenario.inFlight, scenario.body, ms), ms + STALL_MS, `${row.label} (${scenario.name})`)
  } catch (error) {
    await drop(row, reasonOf(error))
    return undefined
  }
}

async function round(index: number, scenario: Scenario): Promise<void> {
  const list = active()
  const shift = index % list.length
  const order = [...list.slice(shift), ...list.slice(0, shift)]
  const totals = new Map<Row, { calls: number; elapsed: number }>(list.map((row) => [row, { calls: 0, elapsed: 0 }]))
  for (let slice = 0; slice < settings.slices; slice++) {
    for (const row of slice % 2 === 0 ? order : [...order].reverse()) {
      const result = await timed(row, scenario, settings.ms / settings.slices)
      const total = totals.get(row)
      if (result === undefined || total === undefined) continue
      total.calls += result.calls
      total.elapsed += result.elapsed
    }
  }
  const rate = (row: Row): number => {
    const total = totals.get(row)
    return total === undefined || total.elapsed === 0 ? 0 : ((total.calls * 1000) / total.elapsed) * scenario.scale
  }
  const base = rate(baselineRow)
  for (const row of active()) {
    row.rates[scenario.id]?.push(rate(row))
    row.ratios[scenario.id]?.push(rate(row) / base)
  }
}

/** Idle memory of one library in a fresh child: bytes per connection. */
async function idleMemory(entry: Loaded): Promise<{ rss: number; heap: number }> {
  const server = await ServerProcess.start(entry.file, entry.adapter.id, entry.adapter.label)
  const clients: Client[] = []
  try {
    const open = async (): Promise<Client> => {
      const client = await within(entry.adapter.connect(server.info), 15_000, `${entry.adapter.label} connect`)
      clients.push(client)
      await within(client.call(small), 15_000, `${entry.adapter.label} call`)
      return client
    }
    const openMany = async (count: number): Promise<void> => {
      for (let opened = 0; opened < count; ) {
        const batch = Math.min(50, count - opened)
        await Promise.all(Array.from({ length: batch }, open))
        opened += batch
      }
    }
    // The slope between idle and 2 × idle connections: what the first
    // connections cost once (compiled code, hidden classes, tables sized
    // up) stays out of the per-connection figure.
    await openMany(settings.idle)
    const before = await server.memory()
    await openMany(settings.idle)
    const after = await server.memory()
    const heap = (usage: NodeJS.MemoryUsage): number => usage.heapUsed + usage.external
    return { rss: (after.rss - before.rss) / settings.idle, heap: (heap(after) - heap(before)) / settings.idle }
  } finally {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)))
    await server.stop()
  }
}

let exitCode = 0
const memory: MemoryResult[] = []
try {
  log(`bench/peers: ${rows.map((row) => row.id).join(', ')}; ${settings.rounds} rounds × ${settings.ms} ms, ${settings.slices} slices`)
  await Promise.all(rows.map(connect))
  if (baselineRow.failure !== undefined) throw new Error(`the baseline failed: ${baselineRow.failure}`)

  for (const scenario of scenarios) {
    if (settings.warmupMs > 0) for (const row of active()) await timed(row, scenario, settings.warmupMs)
  }
  for (let index = 0; index < settings.rounds; index++) {
    for (const scenario of scenarios) await round(index, scenario)
    if (baselineRow.failure !== undefined) throw new Error(`the baseline failed: ${baselineRow.failure}`)
    log(`round ${index + 1}/${settings.rounds} done (${((performance.now() - started) / 1000).toFixed(0)} s)`)
  }
  for (const row of rows) {
    await row.client?.close().catch(() => undefined)
    await row.server?.stop()
  }

  const memoryRows = rows.filter((row) => row.loaded.adapter.memory === true)
  const samples = new Map<string, { rss: number[]; heap: number[]; failure?: string }>(memoryRows.map((row) => [row.id, { rss: [], heap: [] }]))
  for (let index = 0; index < settings.memRounds; index++) {
    const shift = index % Math.max(1, memoryRows.length)
    for (const row of [...memoryRows.slice(shift), ...memoryRows.slice(0, shift)]) {
      const sample = samples.get(row.id)
      if (sample === undefined || sample.failure !== undefined) continue
      try {
        const result = await idleMemory(row.loaded)
        sample.rss.push(result.rss)
        sample.heap.push(result.heap)
      } catch (error) {
        sample.failure = reasonOf(error)
        log(`idle memory of ${row.label} failed: ${sample.failure}`)
      }
    }
    log(`idle memory round ${index + 1}/${settings.memRounds} done (${((performance.now() - started) / 1000).toFixed(0)} s)`)
  }
  for (const row of memoryRows) {
    const sample = samples.get(row.id)
    if (sample !== undefined) memory.push({ id: row.id, label: row.label, ...sample })
  }

  const report = renderReport({ rows, memory, skipped: notes, settings, seconds: (performance.now() - started) / 1000, loadAtStart })
  console.log(`\n${report.body}`)
  if (out !== '-') {
    writeReport(out, report)
    log(`written to ${out}`)
  }
} catch (error) {
  log(`bench/peers failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  exitCode = 1
} finally {
  for (const row of rows) {
    await row.client?.close().catch(() => undefined)
    await row.server?.stop()
  }
}
process.exitCode = exitCode
// Everything is closed by now; if a library left a handle open, say so and leave anyway.
setTimeout(() => {
  log('bench/peers: handles still open after closing everything; exiting')
  process.exit(exitCode)
}, 3000).unref()
