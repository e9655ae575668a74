// tap coverage map. The fault tests drive cio from child processes run
// under the tsx loader, whose coverage of lib/ cannot be merged with the
// in-process runs; those tests prove behaviour, the unit tests measure
// coverage.
export default function coverageMap(testFile) {
  return testFile.replace(/\\/g, '/').includes('test/faults/') ? null : []
}
