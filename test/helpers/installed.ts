import { execFile } from 'node:child_process'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** What a child process did. */
export interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs a program as a user's project would, with cio installed: it is
 * written into a test directory whose `node_modules/cio` links to this
 * package, so `require('cio')` and `import 'cio'` go through package.json's
 * exports to dist/ (built by `npm test`). `files` are written beside it.
 */
export function runInstalled(t: Test, name: string, source: string, files: Record<string, string> = {}): Promise<Ran> {
  const dir = t.testdir()
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(root, join(dir, 'node_modules', 'cio'), 'dir')
  writeFileSync(join(dir, name), source)
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text)
  return new Promise((resolve) => {
    execFile(process.execPath, [name, dir], { cwd: dir, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr })
    })
  })
}
