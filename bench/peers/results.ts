/**
 * The report of bench/peers: markdown tables with each library's medians and
 * ratios to the baseline, the targets of issue 5 checked, and the machine.
 * Written into its own marked section of bench/RESULTS.md, so other
 * benchmarks can keep theirs in the same file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { median, table } from '../stats.js'
import type { Skipped } from './load.js'
import { scenarios } from './method.js'

export interface ThroughputResult {
  id: string
  label: string
  description: string
  /** Per scenario id, one rate per round (the scenario's unit). */
  rates: Record<string, number[]>
  /** Per scenario id, one ratio to the baseline per round. */
  ratios: Record<string, number[]>
  failure?: string | undefined
}

export interface MemoryResult {
  id: string
  label: string
  /** Bytes per idle connection, one per round. */
  rss: number[]
  heap: number[]
  failure?: string | undefined
}

export interface ReportInput {
  rows: readonly ThroughputResult[]
  memory: readonly MemoryResult[]
  skipped: readonly Skipped[]
  settings: { rounds: number; ms: number; slices: number; warmupMs: number; idle: number; memRounds: number }
  seconds: number
  /** os.loadavg()[0] when the run started: other work on the machine skews the figures. */
  loadAtStart: number
}

export interface Report {
  /** The section, without markers. */
  body: string
}

const START = '<!-- bench/peers:start -->'
const END = '<!-- bench/peers:end -->'
export const COMMAND = 'cd bench/peers && npm ci && npm run bench'

const CIO = new Set(['cio-rpc', 'cio-agent', 'cio-agent-tls'])
const REFERENCE = new Set(['baseline', 'baseline-tls'])

function format(value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  return value >= 100 ? value.toFixed(0) : value.toFixed(1)
}

const kib = (bytes: number): string => (Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(1)} KiB` : 'n/a')

/** Median ratio of two rows' per-round values, round by round. */
function pairedRatio(a: readonly number[] | undefined, b: readonly number[] | undefined): number {
  if (a === undefined || b === undefined) return NaN
  const count = Math.min(a.length, b.length)
  if (count === 0) return NaN
  return median(Array.from({ length: count }, (_, index) => a[index]! / b[index]!))
}

const mid = (values: readonly number[] | undefined): number => (values === undefined || values.length === 0 ? NaN : median(values))

function machine(loadAtStart: number): string[] {
  const cpus = os.cpus()
  const model = cpus[0]?.model.trim() ?? 'unknown CPU'
  return [
    `- Date: ${new Date().toISOString()}`,
    `- Node ${process.version} on ${os.type()} ${os.release()} (${process.arch})`,
    `- CPU: ${model}, ${cpus.length} cores as seen by os.cpus(); ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB memory`,
    `- Load average (1 min) at the start ${loadAtStart.toFixed(1)}, at the end ${(os.loadavg()[0] ?? 0).toFixed(1)}: well above 0 means other work shared the cores and the figures are noisier`,
  ]
}

function throughputTable(input: ReportInput): string {
  const rows = input.rows
  const tls = rows.find((row) => row.id === 'baseline-tls')
  const headers = ['library']
  for (const scenario of scenarios) headers.push(`${scenario.name} (${scenario.unit})`, '× baseline')
  const body = rows.map((row) => {
    const cells = [row.failure === undefined ? row.label : `${row.label} (dropped: ${row.failure})`]
    for (const scenario of scenarios) {
      const rates = row.rates[scenario.id]
      const ratio = mid(row.ratios[scenario.id])
      let ratioText = Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a'
      if (tls !== undefined && row.id.endsWith('-tls') && row !== tls && Number.isFinite(ratio)) {
        ratioText += ` (${pairedRatio(rates, tls.rates[scenario.id]).toFixed(2)} × raw tls)`
      }
      cells.push(format(mid(rates)), ratioText)
    }
    return cells
  })
  return table(headers, body)
}

function memoryTable(input: ReportInput): string {
  const raw = input.memory.find((row) => row.id === 'baseline')
  const rawTls = input.memory.find((row) => row.id === 'baseline-tls')
  const body = input.memory.map((row) => {
    const reference = row.id.endsWith('-tls') && rawTls !== undefined && row !== rawTls ? rawTls : raw
    const times = (mine: readonly number[], theirs: readonly number[] | undefined): string => {
      const value = theirs === undefined ? NaN : mid(mine) / mid(theirs)
      return Number.isFinite(value) ? `${value.toFixed(2)}${reference === rawTls ? ' × raw tls' : ''}` : 'n/a'
    }
    return [
      row.failure === undefined ? row.label : `${row.label} (failed: ${row.failure})`,
      kib(mid(row.rss)),
      times(row.rss, reference?.rss),
      kib(mid(row.heap)),
      times(row.heap, reference?.heap),
    ]
  })
  return table(['library', 'rss per idle connection', '× raw socket', 'heap + external per idle connection', '× raw socket'], body)
}

/** Issue 5's targets, each checked against this run's numbers. */
function targets(input: ReportInput): string[] {
  const lines: string[] = []
  const cio = input.rows.find((row) => row.id === 'cio-rpc' && row.failure === undefined)
  const peers = input.rows.filter((row) => !CIO.has(row.id) && !REFERENCE.has(row.id) && row.failure === undefined)
  const mark = (ok: boolean): string => (ok ? 'met' : '**not met**')
  if (cio === undefined) lines.push('- cio RPC did not run: no throughput targets checked.')
  else {
    for (const scenario of scenarios) {
      const ratio = mid(cio.ratios[scenario.id])
      lines.push(`- cio RPC ≥ 0.85 × baseline, ${scenario.name}: ${ratio.toFixed(2)}, ${mark(ratio >= 0.85)}`)
    }
    for (const scenario of scenarios) {
      const mine = mid(cio.rates[scenario.id])
      const best = peers.map((row) => ({ row, rate: mid(row.rates[scenario.id]) })).sort((a, b) => b.rate - a.rate)[0]
      if (best === undefined) continue
      const versus = pairedRatio(cio.rates[scenario.id], best.row.rates[scenario.id])
      const goal = scenario.id === 'one' ? 'not trailing the best peer (≥ 0.95 ×)' : 'beating every peer'
      const ok = scenario.id === 'one' ? versus >= 0.95 : versus > 1
      lines.push(`- cio RPC ${goal}, ${scenario.name}: best peer ${best.row.label} at ${format(best.rate)} ${scenario.unit}, cio ${format(mine)} (${versus.toFixed(2)} ×), ${mark(ok)}`)
    }
  }
  const raw = input.memory.find((row) => row.id === 'baseline')
  const agent = input.memory.find((row) => row.id === 'cio-agent')
  if (agent === undefined || raw === undefined || agent.failure !== undefined) lines.push('- idle agent ≤ 1.5 × a raw socket: not measured (the agent adapter did not run).')
  else {
    // heap + external is the steady figure; rss is shown beside it (near zero for a raw socket, so its ratio is often meaningless).
    const heap = mid(agent.heap) / mid(raw.heap)
    const rss = mid(agent.rss) / mid(raw.rss)
    const rssText = `rss ${kib(mid(agent.rss))} vs ${kib(mid(raw.rss))}${Number.isFinite(rss) && mid(raw.rss) > 0 ? ` (${rss.toFixed(2)} ×)` : ''}`
    lines.push(`- idle connected agent (TCP) ≤ 1.5 × a raw socket: heap + external ${kib(mid(agent.heap))} vs ${kib(mid(raw.heap))} (${heap.toFixed(2)} ×), ${mark(heap <= 1.5)}; ${rssText}`)
  }
  return lines
}

export function renderReport(input: ReportInput): Report {
  const { settings } = input
  const cioRows = input.rows.filter((row) => CIO.has(row.id))
  const perRound = cioRows.flatMap((row) =>
    scenarios.map((scenario) => `- ${row.label}, ${scenario.name}: ${(row.ratios[scenario.id] ?? []).map((ratio) => ratio.toFixed(2)).join(' ')}`),
  )
  const lines = [
    '## bench/peers: cio against socket.io, ws, jayson, axon and gRPC',
    '',
    `Command: \`${COMMAND}\` (from the repository root: \`npm run bench:peers\`).`,
    '',
    ...machine(input.loadAtStart),
    `- Settings: ${settings.rounds} interleaved rounds × ${settings.ms} ms per library and scenario (in ${settings.slices} slices), ${settings.warmupMs} ms warm-up; idle memory with ${settings.idle} connections, median of ${settings.memRounds} fresh servers; run took ${input.seconds.toFixed(0)} s`,
    '',
    'Calls per second (MB/s of body for 64 KiB, counted once per echo), median over rounds; `× baseline` is the median of the per-round ratios to the raw `net` baseline measured in the same round. Every server runs in its own child process, clients in the runner; one connection per library.',
    '',
    throughputTable(input),
    '',
    `Idle memory per connection in the server process: a fresh server gets ${settings.idle} clients that connect and make one call each and is measured after gc, then ${settings.idle} more, measured again; the difference divided by ${settings.idle} (the slope, so that what the first connections cost once, compiled code and the like, is not counted per connection). rss includes native memory (sockets, TLS state) but also heap pages V8 had already reserved, so small figures are noisy; heap + external is V8's own count of live objects and buffers.`,
    '',
    input.memory.length === 0 ? '(not measured)' : memoryTable(input),
    '',
    '### Targets (issue 5)',
    '',
    ...targets(input),
    '',
    '### Per-round ratios of cio to the baseline',
    '',
    ...(perRound.length === 0 ? ['(none)'] : perRound),
    '',
    '### How each library is used',
    '',
    ...input.rows.map((row) => `- ${row.label}: ${row.description}`),
    ...(input.skipped.length === 0 ? [] : ['', '### Skipped', '', ...input.skipped.map((skip) => `- adapters/${skip.file}: ${skip.reason}`)]),
  ]
  return { body: lines.join('\n') }
}

/** Replaces this benchmark's section of `file` (or appends it), keeping the rest. */
export function writeReport(file: string, report: Report): void {
  const section = `${START}\n${report.body}\n${END}`
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n'
  const start = current.indexOf(START)
  const end = current.indexOf(END)
  const next =
    start !== -1 && end > start ? `${current.slice(0, start)}${section}${current.slice(end + END.length)}` : `${current.trimEnd()}\n\n${section}\n`
  writeFileSync(file, next)
}
