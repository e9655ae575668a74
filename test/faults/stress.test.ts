import t from 'tap'
import { runStress } from './stress-run.js'

const AGENTS = Number(process.env.STRESS_AGENTS ?? 1000)

t.test(`load - ${AGENTS} agents in 4 processes connect to one server process; sendAll reaches every one`, async (t) => {
  const figures = await runStress({ agents: AGENTS, children: 4, teardown: t.teardown.bind(t) })
  t.equal(figures.connected, AGENTS, 'the server counts every agent connected and authenticated')
  t.equal(figures.unique, AGENTS, 'under distinct names')
  t.same(figures.sendAll.map((round) => [round.answers, round.code]), figures.sendAll.map(() => [AGENTS, undefined]), 'every sendAll round got an answer from every agent')
  const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`
  t.comment(`load: ${AGENTS} agents connected in ${Math.round(figures.connectMs)} ms; sendAll ${figures.sendAll.map((r) => Math.round(r.ms)).join(' / ')} ms; server ${kb(figures.rssPerAgent)} RSS and ${kb(figures.heapPerAgent)} heap per agent; agent processes ${kb(figures.clientRssPerAgent)} RSS per agent`)
})
