/**
 * `npm run stress`: 10,000 agents (in 8 processes) connect to one
 * AgentServer process on this machine over 127.0.0.1; prints the time to
 * connect and authenticate them all, `sendAll` to all of them, and memory
 * per agent. Exits 1 if any agent is missing or any `sendAll` fails.
 *
 *   bash -c 'ulimit -n 65536 2>/dev/null; tsx bench/stress.ts'   (what npm run stress runs)
 *   STRESS_AGENTS=20000 STRESS_CHILDREN=16 npm run stress
 *
 * Open files: the server process holds one descriptor per agent, and each
 * agent process one per agent it runs. The script tries to raise the
 * soft limit (`ulimit -n`) to 65536; if the hard limit is lower, it needs
 * at least agents + 100 on the server and agents / children + 100 on each
 * agent process: `ulimit -n 20000` covers the default run. 10,000
 * connections to one port fit in Linux's default ephemeral range (28,232).
 */
import { execSync } from 'node:child_process'
import { runStress } from '../test/faults/stress-run.js'

const agents = Number(process.env.STRESS_AGENTS ?? 10_000)
const children = Number(process.env.STRESS_CHILDREN ?? 8)
const limit = Number(execSync('ulimit -n', { shell: '/bin/bash' }).toString().trim())
if (Number.isFinite(limit) && limit < agents + 100) {
  console.error(`The open-file limit is ${limit}: the server needs about ${agents + 100}. Run \`ulimit -n ${agents + 1000}\` (or raise the hard limit) first.`)
  process.exit(1)
}

const cleanups: Array<() => unknown> = []
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`
console.log(`cio stress: ${agents.toLocaleString('en-US')} agents in ${children} processes -> 1 server process, TCP on 127.0.0.1, Node ${process.version}, open-file limit ${limit}`)
try {
  const started = performance.now()
  const f = await runStress({ agents, children, window: 60, rounds: 5, teardown: (fn) => cleanups.push(fn) })
  const rounds = f.sendAll.map((r) => Math.round(r.ms))
  const sorted = [...rounds].sort((a, b) => a - b)
  console.log(`connected and authenticated: ${f.connected.toLocaleString('en-US')} (${f.unique.toLocaleString('en-US')} distinct names) in ${(f.connectMs / 1000).toFixed(2)} s (${Math.round((f.connected * 1000) / f.connectMs).toLocaleString('en-US')} handshakes/s)`)
  console.log(`sendAll to all: ${rounds.join(' / ')} ms (median ${sorted[Math.floor(sorted.length / 2)]} ms), answers ${f.sendAll.map((r) => r.answers).join(' / ')}`)
  console.log(`CPU per agent connected: server ${Math.round(f.serverCpuPerAgent)} µs, agent processes ${Math.round(f.clientCpuPerAgent)} µs (both on the same 2 cores)`)
  console.log(`server memory per agent: ${kb(f.rssPerAgent)} RSS, ${kb(f.heapPerAgent)} heap (after gc); agent processes: ${kb(f.clientRssPerAgent)} RSS per agent`)
  console.log(`whole run: ${((performance.now() - started) / 1000).toFixed(1)} s`)
  const failed = f.connected !== agents || f.unique !== agents || f.sendAll.some((r) => r.answers !== agents || r.code !== undefined)
  if (failed) {
    console.log('FAILED: not every agent connected, or a sendAll did not reach them all')
    process.exitCode = 1
  }
} finally {
  for (const cleanup of cleanups) cleanup()
}
